/// What a worker's entry point receives once its process is confined.
public struct WorkerContext: Sendable {
    /// The session this worker serves.
    public let sessionID: String
    /// The session socket to the supervisor (fd 3).
    public let socket: Int32
    /// The write end of the violation-report pipe (fd 4).
    public let report: Int32
    /// The profile the worker was confined with.
    public let profile: SandboxProfile
    /// The layers `Confinement.engage` engaged.
    public let confinement: ConfinementReport
    /// How this worker was created.
    public let mode: SpawnMode
}
