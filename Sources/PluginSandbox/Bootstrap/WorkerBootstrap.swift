import CStartupGuard
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The one entry point of a host that spawns sandboxed workers: the first statement of its `main`.
///
/// In the host it starts the main zygote (by exec of the host executable with a marker argument
/// and a clean environment, while the host is still single-threaded) and returns. In a zygote or
/// an exec'd worker (a process the startup guard saw the marker in) it never returns: the zygote
/// serves spawn requests; the worker confines itself and calls `worker`. Workers the zygotes fork
/// call `worker` too, once confined.
///
/// A marked process whose `main` does not reach this call is killed by the startup guard within
/// ``bootstrapDeadline``, and can never exec; a host that never calls it cannot create a
/// ``WorkerSpawner`` for its own executable (the initializer throws, naming this call).
public enum WorkerBootstrap {
    /// Exit code of a worker that could not confine itself (and so never ran plugin code).
    public static let confinementFailureExitCode: Int32 = 126
    /// Exit code of a worker whose supervisor was already gone when it started.
    public static let orphanExitCode: Int32 = 125
    /// How long a marked process may take to reach ``start(zygote:preload:worker:)``.
    public static let bootstrapDeadline = Duration.milliseconds(Int64(PSG_DEADLINE_MILLISECONDS))

    /// The argument that marks an exec'd worker and the zygote (argv[1]).
    static let workerMarker = String(cString: psg_worker_marker)
    static let zygoteMarker = String(cString: psg_zygote_marker)
    /// Room for a process title, appended to a marked process's argv.
    static let titleRoom = String(repeating: " ", count: 96)

    private static let started = Atomic<Bool>(false)

    /// Whether ``start(zygote:preload:worker:)`` has run in this process.
    public static var isStarted: Bool { started.load(ordering: .acquiring) }

    /// First statement of the host's main.
    ///
    /// - Parameters:
    ///   - zygote: whether to start the zygote (spawns fall back to exec mode without one). It
    ///     starts only while the process has a single thread: call this before any Task, Dispatch
    ///     or NIO use.
    ///   - preload: run once in the zygote before it forks any worker, so every worker inherits its
    ///     effect (warm caches) copy-on-write. It must run no plugin code and start no thread.
    ///   - worker: the worker entry point, called in each worker once it is confined.
    public static func start(zygote: Bool = true, preload: () -> Void = {}, worker: @escaping (WorkerContext) -> Never) {
        switch psg_marker() {
        case PSG_MARKER_WORKER:
            disarmGuard()
            WorkerBirth.fromExec(worker: worker)
        case PSG_MARKER_ZYGOTE:
            disarmGuard()
            MainZygote.serve(preload: preload, worker: worker)
        default:
            break
        }
        started.store(true, ordering: .releasing)
        if zygote { ZygoteLauncher.launch() }
    }

    /// Whether the main zygote started by `start` is alive to serve spawn requests.
    public static var zygoteIsRunning: Bool { ZygoteClient.current?.isAlive ?? false }

    /// The main zygote's pid while it is alive, for diagnostics.
    public static var zygotePID: Int32? {
        guard let zygote = ZygoteClient.current, zygote.isAlive else { return nil }
        return zygote.process.pid
    }

    private static func disarmGuard() {
        if psg_disarm() != 0 { _exit(confinementFailureExitCode) }
    }
}
