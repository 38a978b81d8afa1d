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
    /// The plugin libraries the worker loads, each a read-only descriptor of its sealed copy.
    public let libraries: [WorkerLibrary]
}

/// A plugin library as a worker receives it: the sealed copy the supervisor verified, and what
/// the supervisor says of it.
public struct WorkerLibrary: Sendable {
    /// The path the operator named (for messages; the worker cannot open it).
    public let path: String
    /// The SHA-256 of the sealed copy, as the supervisor computed it.
    public let sha256: String
    /// Its size in bytes.
    public let size: Int
    /// A read-only descriptor of the sealed copy.
    public let descriptor: FileDescriptor
}
