import Logging
import PluginSandbox
import Synchronization

/// How a host runs its sandboxed sessions: where profiles come from, how workers are spawned,
/// the limits the supervisor enforces, what sessions may send to the global bus, resource
/// control, warm spares and logging. Every field has a default that suits an ordinary host.
public struct SandboxConfiguration: Sendable {
    /// Where profiles are found by name (built-in ones first shipped with the program).
    public var profiles = ProfileCatalog()
    /// How workers are created; nil picks the zygote started by the bootstrap.
    public var spawnMode: SpawnMode?
    /// The program exec mode starts as a worker; nil: this program (`/proc/self/exe`).
    public var workerExecutable: String?
    /// The supervisor-side limits for a worker running under a profile.
    public var limits: @Sendable (SandboxProfile) -> WorkerLimits = { WorkerLimits(profile: $0) }
    /// How much of each message kind one worker may send before it is in breach.
    public var inboundPolicy = InboundPolicy()
    /// Which events and requests sessions may send to the global bus.
    public var permissions = GlobalPermissions.any
    /// Resource control by cgroups.
    public var resources = ResourceControl.automatic
    /// Spaces session starts while workers keep crashing, so that a plugin that is ended at once
    /// cannot churn workers as fast as the machine forks (nil: no limit). See ``StartLimit``.
    public var startLimit: StartLimit? = StartLimit()
    /// Warm spare workers kept per profile in use (0: none; every session starts cold).
    public var sparesPerProfile = 1
    /// Profiles to keep spares for from the start, before any session used them.
    public var prewarmedProfiles: [String] = []
    /// How many event loops serve the sessions (nil: one per core, two to four).
    public var eventLoops: Int?
    /// The supervisor's logger; the sessions' plugin logs go here too, with the session's id.
    public var logger = Logger(label: "pluginsandbox", factory: { _ in SwiftLogNoOpLogHandler() })
    /// Extra environment variables for every worker (the host's own environment never reaches them).
    public var workerEnvironment: [String: String] = [:]
    /// Where sessions' plugin libraries are verified and sealed (shared by every host of the process
    /// by default, so a library is copied and hashed once per version of its file).
    public var pluginLibraries = PluginLibraryStore.shared

    /// The default configuration.
    public init() {}

    /// Whether and how cgroups confine the workers' memory, CPU and processes.
    public struct ResourceControl: Sendable {
        fileprivate enum Mode: Sendable { case automatic, disabled }
        fileprivate let mode: Mode
        /// Limits for all sessions together.
        public var aggregate: CgroupAggregateLimits

        /// Use the cgroup controllers this machine offers (v2, else v1), with optional limits for
        /// all sessions together; a profile that requires the `cgroup` layer fails closed without them.
        public static func automatic(aggregate: CgroupAggregateLimits = CgroupAggregateLimits()) -> ResourceControl {
            ResourceControl(mode: .automatic, aggregate: aggregate)
        }

        /// The default: automatic, no aggregate limit.
        public static let automatic = ResourceControl(mode: .automatic, aggregate: CgroupAggregateLimits())

        /// No cgroups: memory is then watched by sampling, as profiles' `supervision.memoryLimitBytes` says.
        public static let disabled = ResourceControl(mode: .disabled, aggregate: CgroupAggregateLimits())
    }

    /// The spawner; a program that is its own worker but never called `Sandbox.bootstrap` gets an
    /// error naming that call, before any process is started.
    func makeSpawner() throws(SpawnError) -> WorkerSpawner {
        do {
            if let workerExecutable { return try WorkerSpawner(mode: spawnMode ?? .exec, executable: workerExecutable) }
            return try WorkerSpawner(mode: spawnMode)
        } catch where error.step == .bootstrapMissing {
            throw SpawnError(
                step: .bootstrapMissing, errno: 0,
                detail: "Sandbox.bootstrap(sessionPlugins:) must be the first statement of main: this program never called it, so it cannot serve as its own sandboxed worker")
        }
    }

    func makeCgroups() throws -> CgroupController? {
        guard resources.mode == .automatic else { return nil }
        do {
            return try SharedCgroups.controller(aggregate: resources.aggregate)
        } catch {
            logger.warning("cgroups unavailable; memory is watched by sampling", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

/// One cgroup controller per process: its parent group is named after the process, so every
/// host in the process shares it (and its aggregate limits, set by the first).
enum SharedCgroups {
    private static let shared = Mutex<CgroupController?>(nil)

    static func controller(aggregate: CgroupAggregateLimits) throws -> CgroupController {
        try shared.withLock { (shared) throws -> CgroupController in
            if let shared { return shared }
            let made = try CgroupController(configuration: CgroupController.Configuration(aggregate: aggregate))
            shared = made
            return made
        }
    }
}
