import CSeccomp
#if canImport(Glibc)
import Glibc
#endif

/// The worker side of spawning: the first statement of a host's `main`.
///
/// In a host this starts the zygote (when asked and when the process is still single-threaded) and
/// returns. In an exec'd worker (hidden argument `--plugin-sandbox-worker`) it confines the process and
/// calls the worker entry point, never returning. Workers forked by the zygote enter the same path.
public enum WorkerBootstrap {
    /// The hidden argument that marks an exec'd worker.
    static let workerArgument = "--plugin-sandbox-worker"
    /// The environment variable carrying an exec'd worker's launch plan (removed before plugin code runs).
    static let planVariable = "PLUGIN_SANDBOX_WORKER_PLAN"
    /// Exit code of a worker that could not confine itself (and so never ran plugin code).
    public static let confinementFailureExitCode: Int32 = 126
    /// Exit code of a worker whose supervisor was already gone when it started.
    public static let orphanExitCode: Int32 = 125

    /// First statement of the host's main. In a worker (exec mode: hidden argument) it confines the process
    /// via Confinement.engage and calls `worker` (never returns). Otherwise it starts the zygote (if asked) and returns.
    ///
    /// The zygote is forked only while the process has a single thread; otherwise no zygote starts and
    /// `WorkerSpawner` falls back to exec mode. Call it before any Task, Dispatch or NIO use.
    public static func start(
        arguments: [String] = CommandLine.arguments,
        zygote: Bool = true,
        worker: @escaping (WorkerContext) -> Never
    ) {
        if arguments.count >= 2, arguments[1] == workerArgument {
            enterExecWorker(worker)
        }
        if zygote {
            Zygote.launch(worker: worker)
        }
    }

    /// Whether a zygote started by `start` is alive to serve spawn requests.
    public static var zygoteIsRunning: Bool { ZygoteClient.current?.isAlive ?? false }

    /// The zygote's pid while it is alive, for diagnostics.
    public static var zygotePID: Int32? {
        guard let zygote = ZygoteClient.current, zygote.isAlive else { return nil }
        return zygote.process.pid
    }

    private static func enterExecWorker(_ worker: (WorkerContext) -> Never) -> Never {
        guard let raw = getenv(planVariable) else {
            failStart(stage: "plan", detail: "missing \(planVariable)")
        }
        let plan: WorkerLaunchPlan
        do {
            plan = try WorkerLaunchPlan.decode(Array(String(cString: raw).utf8))
        } catch {
            failStart(stage: "plan", detail: error.description)
        }
        unsetenv(planVariable)
        runWorker(plan, mode: .exec, worker: worker)
    }

    /// Runs in the new worker with its descriptors already at 0...4: detaches from everything the
    /// supervisor or zygote had, engages confinement, then hands over to `worker`.
    static func runWorker(_ plan: WorkerLaunchPlan, mode: SpawnMode, worker: (WorkerContext) -> Never) -> Never {
        // Default dispositions also remove the Swift runtime's crash handlers (the backtracer).
        ps_spawn_reset_signals()
        _ = ps_spawn_set_parent_death_signal(SIGKILL)
        if getppid() != plan.supervisorPID {
            _exit(orphanExitCode)
        }
        _ = ps_spawn_close_range(UInt32(WorkerChannels.firstFree), UInt32.max)
        _ = setsid()
        setenv("SWIFT_BACKTRACE", "enable=no", 1)
        let confinement: ConfinementReport
        do {
            confinement = try Confinement.engage(
                plan.profile,
                descriptors: ChildDescriptors(session: WorkerChannels.sessionSlot, report: WorkerChannels.reportSlot),
                identity: plan.identity
            )
        } catch {
            failStart(stage: "confinement", detail: error.description)
        }
        worker(
            WorkerContext(
                sessionID: plan.sessionID,
                socket: WorkerChannels.sessionSlot,
                report: WorkerChannels.reportSlot,
                profile: plan.profile,
                confinement: confinement,
                mode: mode
            )
        )
    }

    /// Writes one JSON line naming the failed stage to the report fd and exits with 126: untrusted code
    /// never runs unconfined.
    private static func failStart(stage: String, detail: String) -> Never {
        let line = WorkerStartFailure(stage: stage, detail: detail).line()
        _ = line.withUnsafeBytes { write(WorkerChannels.reportSlot, $0.baseAddress, $0.count) }
        _exit(confinementFailureExitCode)
    }
}
