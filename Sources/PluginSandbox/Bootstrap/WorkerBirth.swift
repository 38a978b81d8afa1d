import CConfinementCalls
import PluginSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A worker's first moments, from fork (or exec) to the call of the worker entry point: its
/// ``WorkerStart`` (cgroups, descriptors, confinement), then the report over its bootstrap channel,
/// which it closes before any plugin code runs.
///
/// A worker ends up with stdin on /dev/null, stdout and stderr on its output pipe, the session
/// socket at fd 3, and nothing else.
struct WorkerBirth {
    /// What the worker is confined with.
    let prepared: PreparedConfinement
    /// /dev/null, for the worker's stdin.
    let stdin: FileDescriptor
    /// The worker entry point.
    let worker: (WorkerContext) -> Never

    /// In the profile zygote, before the fork: everything the new worker's start reads.
    /// `libraries` (numbered at least `Slot.firstFree`) go to the library slots.
    func start(for plan: WorkerLaunchPlan, channels: WorkerChannels, joins: [FileDescriptor], joinGate: FileDescriptor? = nil, libraries: [FileDescriptor]) -> WorkerStart {
        // Every source is numbered at least Slot.firstFree, so no placement overwrites a later source.
        var placements: [(source: FileDescriptor, slot: Int32)] = [
            (stdin, STDIN_FILENO), (channels.outputWrite, STDOUT_FILENO), (channels.outputWrite, STDERR_FILENO),
            (channels.workerSocket, WorkerChannels.Slot.session), (channels.workerBootstrap, WorkerChannels.Slot.bootstrap),
        ]
        if let landlock = prepared.landlock { placements.append((landlock.ruleset, WorkerChannels.Slot.extra)) }
        for (index, library) in libraries.enumerated() {
            placements.append((library, WorkerChannels.Slot.firstLibrary + Int32(index)))
        }
        return WorkerStart(
            prepared: prepared, plan: plan, joins: joins, joinGate: joinGate, placements: placements,
            firstFree: WorkerChannels.Slot.firstLibrary + Int32(libraries.count),
            ruleset: prepared.landlock.map { _ in FileDescriptor(rawValue: WorkerChannels.Slot.extra) })
    }

    /// In the new worker: runs `start`, reports, and hands over to the worker entry point.
    func run(_ start: WorkerStart, plan: WorkerLaunchPlan, mode: SpawnMode) -> Never {
        Self.run(start, plan: plan, profile: prepared.profile, mode: mode, worker: worker)
    }

    private static func run(_ start: WorkerStart, plan: WorkerLaunchPlan, profile: SandboxProfile, mode: SpawnMode,
                            worker: (WorkerContext) -> Never) -> Never {
        let channel = FileDescriptor(rawValue: WorkerChannels.Slot.bootstrap)
        let report: ConfinementReport
        switch start.run() {
        case .orphaned:
            _exit(WorkerBootstrap.orphanExitCode)
        case .failed(let failure):
            fail(over: channel, stage: failure.stage, detail: failure.detail)
        case .unreported:
            _exit(WorkerBootstrap.confinementFailureExitCode)  // the supervisor is gone or refused the report
        case .reported(let sent):
            report = sent
        case .confined(let confined, let message, let listener):
            do throws(SystemCallError) {
                try channel.sendMessage(message, passing: listener.map { [$0] } ?? [])
            } catch {
                _exit(WorkerBootstrap.confinementFailureExitCode)
            }
            channel.closeAfterUse()
            listener?.closeAfterUse()
            report = confined
        }
        let libraries = plan.libraries.enumerated().map { index, library in
            WorkerLibrary(path: library.path, sha256: library.sha256, size: library.size,
                          descriptor: FileDescriptor(rawValue: WorkerChannels.Slot.firstLibrary + Int32(index)))
        }
        worker(WorkerContext(
            sessionID: plan.sessionID, socket: FileDescriptor(rawValue: WorkerChannels.Slot.session),
            profile: profile, confinement: report, mode: mode, libraries: libraries))
    }

    /// Reports that the worker cannot start, then exits with 126: untrusted code never runs unconfined.
    static func fail(over channel: FileDescriptor, stage: String, detail: String) -> Never {
        try? channel.sendMessage(BootstrapMessage.failed(WorkerStartFailure(stage: stage, detail: detail)).encoded())
        _exit(WorkerBootstrap.confinementFailureExitCode)
    }

    /// In a worker exec'd by the supervisor (the startup guard saw the worker marker): reads its
    /// launch plan from the bootstrap channel, joins its cgroups, prepares its profile for itself
    /// (the steps a profile zygote does once), then starts as a forked worker does.
    static func fromExec(worker: @escaping (WorkerContext) -> Never) -> Never {
        let startedAt = psc_now()
        let channel = FileDescriptor(rawValue: WorkerChannels.Slot.bootstrap)
        var buffer = [UInt8](repeating: 0, count: WorkerLaunchPlan.maximumEncodedSize + 1)
        let plan: WorkerLaunchPlan
        do {
            let received = try channel.receiveMessage(into: &buffer, descriptorCapacity: 0)
            guard received.count > 0 else { fail(over: channel, stage: "plan", detail: "the supervisor sent no launch plan") }
            plan = try WorkerLaunchPlan.decode(buffer[0..<received.count])
        } catch {
            fail(over: channel, stage: "plan", detail: "\(error)")
        }
        guard let profile = plan.profile, plan.joinCount >= 0, plan.joinCount <= SpawnRequest.maximumJoinDescriptors,
              plan.libraries.count <= SpawnRequest.maximumLibraries else {
            fail(over: channel, stage: "plan", detail: "the launch plan names no profile, too many cgroups or too many libraries")
        }
        do throws(SystemCallError) {
            for index in 0..<plan.joinCount {
                try ProcessCalls.joinCgroup(FileDescriptor(rawValue: WorkerChannels.Slot.firstFree + Int32(index)))
            }
            if plan.joinsCgroupDirectory {
                try ProcessCalls.joinCgroup(directory: FileDescriptor(rawValue: WorkerChannels.Slot.firstFree + Int32(plan.joinCount)))
            }
            // Keep the library copies (from Slot.firstLibrary); close the rest.
            try FileDescriptor.closeRange(from: WorkerChannels.Slot.extra, through: WorkerChannels.Slot.extra)
            try ProcessCalls.closeDescriptors(from: WorkerChannels.Slot.firstLibrary + Int32(plan.libraries.count))
        } catch {
            fail(over: channel, stage: "cgroup", detail: "\(error)")
        }
        let prepared: PreparedConfinement
        do {
            prepared = try PreparedConfinement.prepare(profile)
        } catch {
            fail(over: channel, stage: "prepare", detail: error.description)
        }
        // Descriptors are in place already (posix_spawn put them there); the ruleset stays where it is.
        let start = WorkerStart(
            prepared: prepared, plan: plan, joins: [], placements: [], firstFree: nil, ruleset: prepared.landlock?.ruleset)
        start.markStart(at: startedAt)
        run(start, plan: plan, profile: profile, mode: .exec, worker: worker)
    }
}
