/// What to spawn: one session's worker, its confinement profile, identity and environment.
public struct SpawnRequest: Sendable {
    /// The session the worker serves.
    public var sessionID: String
    /// The confinement the worker engages before running any plugin code.
    public var profile: SandboxProfile
    /// The identity the worker drops to. When nil and the supervisor runs as root, the spawner allocates
    /// a distinct unprivileged uid/gid from `WorkerIdentityPool.shared`; when nil and the supervisor is
    /// not root, the worker keeps the supervisor's identity.
    public var identity: WorkerIdentity?
    /// The worker's complete environment (the supervisor's own environment is not inherited);
    /// `SWIFT_BACKTRACE=enable=no` is always added.
    public var environment: [String: String]

    /// Creates a request.
    public init(
        sessionID: String,
        profile: SandboxProfile,
        identity: WorkerIdentity? = nil,
        environment: [String: String] = [:]
    ) {
        self.sessionID = sessionID
        self.profile = profile
        self.identity = identity
        self.environment = environment
    }
}

/// A spawned worker: its process handle and the supervisor's ends of its channels.
///
/// The supervisor owns the three descriptors (all close-on-exec) and closes them; the process
/// handle owns the pidfd.
public struct SpawnedWorker: Sendable {
    /// The worker's pid.
    public let pid: Int32
    /// The worker's pidfd, for signalling and reaping.
    public let process: ProcessHandle
    /// The supervisor end of the session socket (AF_UNIX, SOCK_STREAM, close-on-exec).
    public let socket: Int32
    /// The read end of the worker's stdout + stderr.
    public let output: Int32
    /// The read end of the worker's violation-report pipe.
    public let reports: Int32
    /// How the worker was created.
    public let mode: SpawnMode
}
