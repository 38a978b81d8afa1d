import PluginSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The zygote of one profile: forked from the main zygote as a child of the host, it prepares the
/// profile once (enters its namespaces, builds and enters its minimal root, compiles its seccomp
/// program, creates its Landlock ruleset), then forks one worker per launch plan the host sends.
///
/// Workers are forked with `CLONE_PARENT`, so each is a child of the supervisor (pidfd, waitid and
/// the parent-death signal work as for any child) and starts inside the profile's namespaces and
/// root at no cost of its own. Workers are forked by a raw `clone3`, which skips glibc's fork
/// handlers: safe because this process is single-threaded and holds no lock when it forks.
enum ProfileZygote {
    static func run(
        socket: FileDescriptor,
        profile: SandboxProfile,
        supervisorPID: Int32,
        worker: @escaping (WorkerContext) -> Never
    ) -> Never {
        // The parent-death signal is not inherited across fork.
        if (try? ProcessCalls.setParentDeathSignal(SIGKILL)) == nil || getppid() != supervisorPID { _exit(0) }
        ProcessTitle.set(ProcessTitle.zygote(profile: profile.name))
        // The host's socket above the worker slots, so a worker never keeps it by accident.
        guard let lifted = try? ProcessCalls.duplicate(socket, atLeast: WorkerChannels.Slot.firstFree) else { _exit(1) }
        socket.closeAfterUse()
        let host = ZygoteSocket(descriptor: lifted)
        let prepared: PreparedConfinement
        do {
            prepared = try PreparedConfinement.prepare(profile)
        } catch {
            host.send(.failed(SpawnError(step: .profileZygote, errno: error.errno, detail: "profile \(profile.name): \(error)")))
            _exit(1)
        }
        // /dev/null of the worker's own root (or the host's, without a mount namespace).
        let stdin: FileDescriptor
        do {
            let opened = try FileDescriptor.open("/dev/null", .readOnly, options: .closeOnExec)
            stdin = try ProcessCalls.duplicate(opened, atLeast: WorkerChannels.Slot.firstFree)
            opened.closeAfterUse()
        } catch {
            host.send(.failed(SpawnError(step: .openDevNull, errno: (error as? Errno)?.rawValue ?? EIO, detail: "\(error)")))
            _exit(1)
        }
        guard host.send(.succeeded(getpid())) else { _exit(0) }
        let birth = WorkerBirth(prepared: prepared, stdin: stdin, worker: worker)
        var buffer = [UInt8](repeating: 0, count: WorkerLaunchPlan.maximumEncodedSize + 1)
        while true {
            let capacity = SpawnRequest.maximumJoinDescriptors + 1 + SpawnRequest.maximumLibraries
            guard let received = host.receive(into: &buffer, descriptorCapacity: capacity) else { _exit(0) }
            switch received {
            case .failure(let error):
                host.send(.failed(error))
            case .success(let request):
                let decoded = Result { () throws(SpawnError) in try WorkerLaunchPlan.decode(buffer[0..<request.count]) }
                ZygoteSocket.forget(&buffer, count: request.count)
                do throws(SpawnError) {
                    let plan = try decoded.get()
                    try spawn(plan, descriptors: request.descriptors, supervisorPID: supervisorPID, birth: birth, host: host)
                } catch {
                    for descriptor in request.descriptors { descriptor.closeAfterUse() }
                    host.send(.failed(error))
                }
            }
        }
    }

    /// Forks one worker for `plan` and replies with its pid and descriptors.
    private static func spawn(
        _ plan: WorkerLaunchPlan,
        descriptors: [FileDescriptor],
        supervisorPID: Int32,
        birth: WorkerBirth,
        host: ZygoteSocket
    ) throws(SpawnError) {
        let cgroupCount = plan.joinsCgroupDirectory ? 1 : 0
        guard plan.supervisorPID == supervisorPID, plan.joinCount >= 0, plan.libraries.count <= SpawnRequest.maximumLibraries,
              descriptors.count == plan.joinCount + cgroupCount + plan.libraries.count else {
            throw SpawnError(step: .decodeRequest, errno: EINVAL, detail: "the plan does not match its descriptors or supervisor")
        }
        let joins = Array(descriptors.prefix(plan.joinCount))
        let cgroup = plan.joinsCgroupDirectory ? descriptors[plan.joinCount] : nil
        // Library copies above every slot, so that placing one never overwrites another source.
        var libraries: [FileDescriptor] = []
        defer { for library in libraries { library.closeAfterUse() } }
        for received in descriptors.suffix(plan.libraries.count) {
            libraries.append(try SpawnError.during(.duplicate) { () throws(SystemCallError) in
                try ProcessCalls.duplicate(received, atLeast: WorkerChannels.Slot.firstFree)
            })
        }
        let channels = try WorkerChannels.create()
        // The worker waits at this gate while this process writes its pid into its cgroups (v1
        // `tasks` files): moved while asleep, it never waits out a scheduler tick in its new cpu group.
        let gate = joins.isEmpty ? nil : try SpawnError.during(.clone, cleanup: {
            channels.closeWorkerEnds()
            channels.closeSupervisorEnds()
        }) { () throws(SystemCallError) in try FileDescriptor.closeOnExecPipe() }
        let start = birth.start(for: plan, channels: channels, joins: [], joinGate: gate?.read, libraries: libraries)
        start.markStart()
        let forked = try SpawnError.during(.clone, cleanup: {
            channels.closeWorkerEnds()
            channels.closeSupervisorEnds()
            gate?.read.closeAfterUse()
            gate?.write.closeAfterUse()
        }) { () throws(SystemCallError) in try ProcessCalls.forkSibling(intoCgroup: cgroup) }
        guard forked.pid != 0, let pidfd = forked.pidfd else {
            birth.run(start, plan: plan, mode: .zygote)
        }
        if let gate {
            gate.read.closeAfterUse()
            var joined = true
            for join in joins where !ProcessCalls.moveIntoCgroup(forked.pid, join) { joined = false }
            // Joined: one byte lets the worker go on. Not joined: closing the gate ends its start.
            if joined { _ = try? gate.write.writeAll([1]) }
            gate.write.closeAfterUse()
        }
        channels.closeWorkerEnds()
        for descriptor in descriptors { descriptor.closeAfterUse() }
        let passed = [pidfd, channels.supervisorSocket, channels.outputRead, channels.supervisorBootstrap]
        if !host.send(.succeeded(forked.pid), passing: passed) {
            // Nobody will own this worker: end it (the supervisor reaps it, or it dies with the supervisor).
            try? ProcessCalls.sendSignal(SIGKILL, through: pidfd)
        }
        for descriptor in passed { descriptor.closeAfterUse() }
    }
}
