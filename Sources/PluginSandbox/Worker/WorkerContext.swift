import SystemPackage

/// What a worker's entry point receives once its process is confined.
public struct WorkerContext: Sendable {
    /// The session this worker serves; nil for a spare, which learns it from the supervisor's
    /// welcome (and then shows it with ``ProcessTitle/set(_:)``).
    public let sessionID: String?
    /// The session socket to the supervisor (fd 3).
    public let socket: FileDescriptor
    /// The profile the worker was confined with.
    public let profile: SandboxProfile
    /// The layers the worker's confinement engaged.
    public let confinement: ConfinementReport
    /// How this worker was created.
    public let mode: SpawnMode
}
