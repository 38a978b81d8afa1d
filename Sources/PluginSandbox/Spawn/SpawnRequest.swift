import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// What to spawn: one session's worker (or a spare), its confinement profile, identity,
/// environment, and the cgroups it joins.
public struct SpawnRequest: Sendable {
    /// The session the worker serves; nil spawns a spare that learns its session from the
    /// supervisor's welcome.
    public var sessionID: String?
    /// The confinement the worker engages before running any plugin code.
    public var profile: SandboxProfile
    /// The identity the worker drops to. When nil, the profile asks to switch users and the
    /// supervisor runs as root, the spawner leases a distinct unprivileged uid/gid from its
    /// ``WorkerIdentityPool`` (returned when the worker is reaped); otherwise the worker keeps the
    /// supervisor's identity.
    public var identity: WorkerIdentity?
    /// The worker's complete environment (the supervisor's own environment is not inherited);
    /// `SWIFT_BACKTRACE=enable=no` is always added.
    public var environment: [String: String]
    /// `cgroup.procs` files opened for writing by the caller: the child writes `0` to each before
    /// anything else. The caller keeps ownership (the spawner passes copies). At most 6.
    public var joinDescriptors: [FileDescriptor]
    /// A cgroup v2 directory the child starts in (`CLONE_INTO_CGROUP` from a zygote; joined through
    /// its `cgroup.procs` by an exec'd worker). The caller keeps ownership.
    public var cgroupDirectory: FileDescriptor?
    /// Plugin libraries the worker loads once it is confined, before it greets the supervisor:
    /// each arrives as a read-only descriptor of its sealed copy (the request keeps them open).
    /// At most ``maximumLibraries``.
    public var libraries: [SealedPluginLibrary]

    /// The most join descriptors a request may carry.
    public static let maximumJoinDescriptors = 6
    /// The most plugin libraries one worker takes.
    public static let maximumLibraries = Int(WorkerChannels.Slot.firstFree - WorkerChannels.Slot.firstLibrary)

    /// Creates a request.
    public init(
        sessionID: String?,
        profile: SandboxProfile,
        identity: WorkerIdentity? = nil,
        environment: [String: String] = [:],
        joinDescriptors: [FileDescriptor] = [],
        cgroupDirectory: FileDescriptor? = nil,
        libraries: [SealedPluginLibrary] = []
    ) {
        self.sessionID = sessionID
        self.profile = profile
        self.identity = identity
        self.environment = environment
        self.joinDescriptors = joinDescriptors
        self.cgroupDirectory = cgroupDirectory
        self.libraries = libraries
    }
}

/// A spawned worker: its process handle and the supervisor's ends of its channels.
///
/// The caller owns the three descriptors (all close-on-exec) and closes them; the process handle
/// owns the pidfd and the worker's identity lease.
public struct SpawnedWorker: Sendable {
    /// The worker's pid.
    public let pid: Int32
    /// The worker's pidfd, for signalling and reaping.
    public let process: ProcessHandle
    /// The supervisor end of the session socket (AF_UNIX, SOCK_STREAM).
    public let socket: FileDescriptor
    /// The read end of the worker's stdout + stderr (a pipe of 64 KiB).
    public let output: FileDescriptor
    /// The supervisor end of the one-shot bootstrap channel (AF_UNIX, SOCK_SEQPACKET, non-blocking):
    /// the worker sends exactly one ``BootstrapMessage`` on it, before any plugin code runs, and
    /// closes its end. Read it with ``BootstrapMessage/receive(from:)``.
    public let bootstrap: FileDescriptor
    /// How the worker was created.
    public let mode: SpawnMode
    /// The uid/gid the worker runs as, when it switches users.
    public let identity: WorkerIdentity?
    /// The plugin libraries the worker loads before it greets the supervisor.
    public let libraries: [SealedPluginLibrary]

    /// Ends a worker the caller will not use: kills it if it still runs, reaps it (returning its
    /// identity to the pool), and closes every descriptor the caller owns.
    public func discard() {
        if (try? process.reap()) == nil {
            try? process.signal(SIGKILL)
            _ = try? process.waitForTermination()
        }
        for descriptor in [socket, output, bootstrap] { try? descriptor.close() }
        process.close()
    }
}
