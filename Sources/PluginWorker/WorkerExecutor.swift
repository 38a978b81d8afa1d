#if canImport(Glibc)
import Glibc
#endif
import PluginSystem
import Synchronization
import SystemPackage

/// The worker's one thread for Swift concurrency: the session thread, running every job
/// of the session (plugin handlers, the session scope, the bridge) in order.
///
/// A worker has two threads: this one and the socket reader (which answers heartbeats even
/// while a handler runs here). Tasks the worker starts prefer this executor, and the global
/// enqueue hook sends unstructured tasks here too, so an idle worker never starts the Dispatch
/// thread pool: ten thousand sessions stay under the machine's thread limit. (A plugin that
/// sleeps with `Task.sleep` still wakes through a Dispatch timer thread.)
final class WorkerExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `queue` and `sleeping` are guarded by the Mutex; `signal` is an eventfd,
    // safe from any thread; `runForever()` is called once, on the session thread.

    private struct Queue {
        var jobs: [UnownedJob] = []
        var sleeping = false
    }

    private let queue = Mutex(Queue())
    private let signal: EventSignal

    /// Creates the executor; ``runForever()`` must then be called on the thread that is to run the jobs.
    init() throws(SystemCallError) {
        signal = try EventSignal()
        try signal.descriptor.setNonBlocking(false)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        post(UnownedJob(job))
    }

    /// Queues a job (from any thread) and wakes the session thread if it sleeps.
    func post(_ job: UnownedJob) {
        let wake = queue.withLock { queue -> Bool in
            queue.jobs.append(job)
            if queue.sleeping {
                queue.sleeping = false
                return true
            }
            return false
        }
        if wake { signal.signal() }
    }

    /// Starts `body` as a task that runs on this executor.
    func start(_ body: sending @escaping @isolated(any) () async -> Void) {
        Task(executorPreference: self, operation: body)
    }

    /// Runs the jobs queued now and those they queue, until none is left (used to warm the
    /// runtime in the zygote, where no other thread may exist).
    func runUntilIdle() {
        while true {
            let batch = queue.withLock { queue -> [UnownedJob] in
                defer { queue.jobs.removeAll(keepingCapacity: true) }
                return queue.jobs
            }
            if batch.isEmpty { return }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }

    /// Runs jobs until the process exits (the session ends by `exit`).
    func runForever() -> Never {
        var batch: [UnownedJob] = []
        while true {
            batch = queue.withLock { queue -> [UnownedJob] in
                if queue.jobs.isEmpty {
                    queue.sleeping = true
                    return []
                }
                defer { queue.jobs.removeAll(keepingCapacity: true) }
                return queue.jobs
            }
            if batch.isEmpty {
                signal.drainBlocking()
                continue
            }
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }

    // MARK: The global executor hook

    private typealias EnqueueOriginal = @convention(thin) (UnownedJob) -> Void
    private typealias EnqueueHook = @convention(thin) (UnownedJob, EnqueueOriginal) -> Void

    private static let installed = Mutex<WorkerExecutor?>(nil)

    /// Sends every job the runtime would give the global concurrent executor to `executor`.
    /// Call once, before the first task starts.
    static func installAsGlobal(_ executor: WorkerExecutor) {
        installed.withLock { $0 = executor }
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "swift_task_enqueueGlobal_hook") else { return }
        symbol.assumingMemoryBound(to: EnqueueHook?.self).pointee = { job, original in
            guard let executor = WorkerExecutor.installed.withLock({ $0 }) else { return original(job) }
            executor.post(job)
        }
    }
}

extension EventSignal {
    /// Blocks until signalled (the descriptor is blocking), consuming the wake-ups.
    func drainBlocking() {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { descriptor.readNow(into: $0) }
    }
}
