import PluginSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A worker's first moments, from fork (or exec) to the call of the worker entry point: joining
/// its cgroups, placing its descriptors, confining itself, and reporting over its bootstrap
/// channel, which it closes before any plugin code runs.
///
/// A worker ends up with stdin on /dev/null, stdout and stderr on its output pipe, the session
/// socket at fd 3, and nothing else.
struct WorkerBirth {
    /// What the worker is confined with.
    let prepared: PreparedConfinement
    /// /dev/null, for the worker's stdin.
    let stdin: FileDescriptor?
    /// The worker entry point.
    let worker: (WorkerContext) -> Never

    /// In a worker just forked by its profile zygote.
    func fromZygote(_ plan: WorkerLaunchPlan, channels: WorkerChannels, joins: [FileDescriptor], forkedAt: ContinuousClock.Instant) -> Never {
        // The parent-death signal is not inherited across fork; the parent is the supervisor (CLONE_PARENT).
        if (try? ProcessCalls.setParentDeathSignal(SIGKILL)) == nil || getppid() != plan.supervisorPID {
            _exit(WorkerBootstrap.orphanExitCode)
        }
        for procs in joins {
            do {
                try ProcessCalls.joinCgroup(procs)
            } catch {
                Self.fail(over: channels.workerBootstrap, stage: "cgroup", detail: "\(error)")
            }
        }
        var placements: [(FileDescriptor, Int32)] = [
            (channels.outputWrite, STDOUT_FILENO), (channels.outputWrite, STDERR_FILENO),
            (channels.workerSocket, WorkerChannels.Slot.session), (channels.workerBootstrap, WorkerChannels.Slot.bootstrap),
        ]
        if let stdin { placements.append((stdin, STDIN_FILENO)) }
        if let landlock = prepared.landlock { placements.append((landlock.ruleset, WorkerChannels.Slot.extra)) }
        do {
            // Every source is numbered at least Slot.firstFree, so no placement overwrites a later source.
            for (source, slot) in placements { _ = try source.duplicate(as: FileDescriptor(rawValue: slot)) }
            try ProcessCalls.closeDescriptors(from: WorkerChannels.Slot.firstFree)
        } catch {
            Self.fail(over: channels.workerBootstrap, stage: "descriptors", detail: "\(error)")
        }
        let ruleset = prepared.landlock.map { _ in FileDescriptor(rawValue: WorkerChannels.Slot.extra) }
        confine(plan, ruleset: ruleset, mode: .zygote, startedAt: forkedAt)
    }

    /// The rest, common to forked and exec'd workers: environment, title, confinement, report, run.
    func confine(_ plan: WorkerLaunchPlan, ruleset: FileDescriptor?, mode: SpawnMode, startedAt: ContinuousClock.Instant) -> Never {
        let channel = FileDescriptor(rawValue: WorkerChannels.Slot.bootstrap)
        // Default dispositions also remove the zygote's ignored signals and the Swift runtime's
        // crash handlers (the backtracer).
        try? ProcessCalls.resetSignals()
        try? ProcessCalls.newSession()  // an exec'd worker already leads its session
        clearenv()
        for variable in plan.environmentStrings {
            guard let equals = variable.firstIndex(of: "=") else { continue }
            setenv(String(variable[..<equals]), String(variable[variable.index(after: equals)...]), 1)
        }
        ProcessTitle.set(ProcessTitle.worker(session: plan.sessionID))
        var confined: (report: ConfinementReport, listener: FileDescriptor?)
        do {
            confined = try Confinement.engage(prepared, ruleset: ruleset, identity: plan.identity, supervisorPID: plan.supervisorPID)
        } catch {
            Self.fail(over: channel, stage: "confinement", detail: error.description)
        }
        let elapsed = ContinuousClock.now - startedAt
        confined.report.spawnMicroseconds = Int(elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000)
        let message = BootstrapMessage.confined(confined.report, listener: nil).encoded()
        let listener = confined.listener.map { [$0] } ?? []
        do throws(SystemCallError) {
            try channel.sendMessage(message, passing: listener)
        } catch {
            _exit(WorkerBootstrap.confinementFailureExitCode)  // the supervisor is gone or refused the report
        }
        channel.closeAfterUse()
        confined.listener?.closeAfterUse()
        worker(WorkerContext(
            sessionID: plan.sessionID, socket: FileDescriptor(rawValue: WorkerChannels.Slot.session),
            profile: prepared.profile, confinement: confined.report, mode: mode))
    }

    /// Reports that the worker cannot start, then exits with 126: untrusted code never runs unconfined.
    static func fail(over channel: FileDescriptor, stage: String, detail: String) -> Never {
        let message = BootstrapMessage.failed(WorkerStartFailure(stage: stage, detail: detail)).encoded()
        try? channel.sendMessage(message)
        _exit(WorkerBootstrap.confinementFailureExitCode)
    }
}

extension WorkerBirth {
    /// In a worker exec'd by the supervisor (the startup guard saw the worker marker): reads its
    /// launch plan from the bootstrap channel, joins its cgroups, prepares its profile for itself
    /// (the steps a profile zygote does once), then confines itself as a forked worker does.
    static func fromExec(worker: @escaping (WorkerContext) -> Never) -> Never {
        let startedAt = ContinuousClock.now
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
        guard let profile = plan.profile, plan.joinCount >= 0, plan.joinCount <= SpawnRequest.maximumJoinDescriptors else {
            fail(over: channel, stage: "plan", detail: "the launch plan names no profile or too many cgroups")
        }
        do {
            for index in 0..<plan.joinCount {
                try ProcessCalls.joinCgroup(FileDescriptor(rawValue: WorkerChannels.Slot.extra + Int32(index)))
            }
            if plan.joinsCgroupDirectory {
                try ProcessCalls.joinCgroup(directory: FileDescriptor(rawValue: WorkerChannels.Slot.extra + Int32(plan.joinCount)))
            }
            try ProcessCalls.closeDescriptors(from: WorkerChannels.Slot.extra)
        } catch {
            fail(over: channel, stage: "cgroup", detail: "\(error)")
        }
        let prepared: PreparedConfinement
        do {
            prepared = try PreparedConfinement.prepare(profile)
        } catch {
            fail(over: channel, stage: "prepare", detail: error.description)
        }
        WorkerBirth(prepared: prepared, stdin: nil, worker: worker)
            .confine(plan, ruleset: prepared.landlock?.ruleset, mode: .exec, startedAt: startedAt)
    }
}
