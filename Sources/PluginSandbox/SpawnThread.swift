import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A thread that lives as long as the process and issues every exec-mode `posix_spawn`.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that created a child exits, not the process. Spawning
/// from a pool thread (Dispatch, NIO, Swift concurrency) would kill the worker whenever that thread
/// retires; spawning from this thread ties the worker to the supervisor process's lifetime.
final class SpawnThread: Sendable {
    static let shared = SpawnThread()

    private let pending = Mutex<[SpawnJob]>([])
    private let wakeup = Semaphore()
    private let started: Bool

    private init() {
        var thread = pthread_t()
        started = pthread_create(&thread, nil, { _ in
            SpawnThread.shared.serve()
        }, nil) == 0
        if started { pthread_detach(thread) }
    }

    /// Runs `body` on the spawn thread and returns its result (inline if the thread could not start).
    func run(_ body: @escaping () -> Int32) -> Int32 {
        guard started else { return body() }
        let job = SpawnJob(body)
        pending.withLock { $0.append(job) }
        wakeup.signal()
        job.done.wait()
        return job.result
    }

    private func serve() -> Never {
        while true {
            wakeup.wait()
            let jobs = pending.withLock { jobs in
                defer { jobs.removeAll() }
                return jobs
            }
            for job in jobs { job.execute() }
        }
    }
}

/// One call handed to the spawn thread.
///
/// `@unchecked Sendable`: `body` is immutable and only called on the spawn thread; `result` is written
/// by the spawn thread before `done.signal()` and read by the submitter only after `done.wait()`,
/// so the semaphore orders every access.
private final class SpawnJob: @unchecked Sendable {
    let body: () -> Int32
    let done = Semaphore()
    var result: Int32 = 0

    init(_ body: @escaping () -> Int32) {
        self.body = body
    }

    func execute() {
        result = body()
        done.signal()
    }
}

/// A POSIX unnamed semaphore.
///
/// `@unchecked Sendable`: sem_post and sem_wait are thread-safe by specification, and the storage is
/// released only in deinit, when no other reference exists.
private final class Semaphore: @unchecked Sendable {
    private let storage = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    init() {
        sem_init(storage, 0, 0)
    }

    deinit {
        sem_destroy(storage)
        storage.deallocate()
    }

    func signal() {
        sem_post(storage)
    }

    func wait() {
        while sem_wait(storage) != 0 && errno == EINTR {}
    }
}
