import Foundation
import PluginSystem
import Synchronization
import SystemPackage

/// What a spawn produced: the worker's pid and the supervisor's descriptors (pidfd, session
/// socket, output read end, bootstrap channel), all owned by the receiver.
struct SpawnOutcome: Sendable {
    let pid: Int32
    let pidfd: FileDescriptor
    let socket: FileDescriptor
    let output: FileDescriptor
    let bootstrap: FileDescriptor
}

/// One unit of spawning work for the ``SpawnDispatcher`` thread.
enum SpawnJob: Sendable {
    /// posix_spawn of `executable` as a worker.
    case exec(WorkerLaunchPlan, executable: String, joins: [FileDescriptor], cgroup: FileDescriptor?, libraries: [FileDescriptor])
    /// A worker from the zygote of `profile` (started on first use).
    case zygote(WorkerLaunchPlan, profile: SandboxProfile, joins: [FileDescriptor], cgroup: FileDescriptor?, libraries: [FileDescriptor])
    /// Raw bytes to the main zygote, for probing how it answers malformed requests.
    case raw([UInt8])
}

/// The host's spawning thread. Every spawn is performed here, so that:
/// - async callers never block a cooperative thread (they await a continuation this thread resumes);
/// - requests to zygotes are pipelined (several in flight per profile zygote, replies matched in
///   order) over non-blocking sockets watched by one epoll;
/// - exec'd workers are children of a thread that lives as long as the process:
///   `PR_SET_PDEATHSIG` fires when the *thread* that created a child exits, so spawning from a pool
///   thread would kill the worker whenever that thread retired.
final class SpawnDispatcher: Sendable {
    typealias Completion = @Sendable (Result<SpawnOutcome?, SpawnError>) -> Void

    /// The host's dispatcher, started on first use.
    static let shared: Result<SpawnDispatcher, SpawnError> = {
        do throws(SystemCallError) {
            return .success(try SpawnDispatcher())
        } catch {
            return .failure(SpawnError(step: .zygoteStart, error))
        }
    }()

    private let inbox: SpawnInbox

    private init() throws(SystemCallError) {
        let loop = try DispatchLoop()
        inbox = loop.inbox
        let handoff = LoopHandoff(loop: loop)
        let thread = Thread { handoff.loop.run() }
        thread.name = "plugin-sandbox-spawner"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Performs `job` on the dispatcher thread and returns its outcome (nil for an accepted raw request).
    func perform(_ job: SpawnJob) async -> Result<SpawnOutcome?, SpawnError> {
        await withCheckedContinuation { continuation in
            inbox.post(job) { continuation.resume(returning: $0) }
        }
    }
}

/// Jobs waiting for the dispatcher thread, and the eventfd that wakes it.
final class SpawnInbox: Sendable {
    private let jobs = Mutex<[(SpawnJob, SpawnDispatcher.Completion)]>([])
    private let wake: FileDescriptor

    init(wake: FileDescriptor) {
        self.wake = wake
    }

    func post(_ job: SpawnJob, _ completion: @escaping SpawnDispatcher.Completion) {
        jobs.withLock { $0.append((job, completion)) }
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { wake.sendNowOrWrite($0) }
    }

    func take() -> [(SpawnJob, SpawnDispatcher.Completion)] {
        jobs.withLock { jobs in
            defer { jobs.removeAll() }
            return jobs
        }
    }
}

/// Moves the loop to its thread.
///
/// `@unchecked Sendable`: the loop is created on the caller's thread and, once handed over here,
/// touched only by the dispatcher thread (the caller keeps only the loop's `Sendable` inbox).
private final class LoopHandoff: @unchecked Sendable {
    let loop: DispatchLoop
    init(loop: DispatchLoop) { self.loop = loop }
}
