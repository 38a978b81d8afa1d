import PluginSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The main zygote: a fresh, single-threaded copy of the host executable, started by exec with a
/// clean environment and argv (so no string of the supervisor's environment or arguments is in its
/// memory, nor in any worker's), that starts one profile zygote per profile the host asks for.
///
/// It dies with the host (its parent-death signal, and end of stream on its socket), ignores every
/// other signal, and answers a malformed request with an error reply.
enum MainZygote {
    /// The host's end of the zygote socket, in the zygote.
    static let socketSlot: Int32 = 3

    private static let ignoredSignals: [Int32] = [
        SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU, SIGALRM,
    ]

    /// Serves the host until it goes away. Called from `WorkerBootstrap.start` in a process the
    /// startup guard marked as the zygote.
    static func serve(preload: () -> Void, worker: @escaping (WorkerContext) -> Never) -> Never {
        let supervisorPID = getppid()
        for signal in ignoredSignals { try? ProcessCalls.ignore(signal) }
        // The host started this process with every signal blocked, so none could kill it before now.
        try? ProcessCalls.blockAllSignals(false)
        ProcessTitle.set(ProcessTitle.zygote(profile: nil))
        guard (try? ProcessCalls.threadCount()) == 1 else {
            // Forking is only safe single-threaded: the host ran code that started threads first.
            let message = "sandbox zygote: WorkerBootstrap.start must be the first statement of main (threads were running)\n"
            _ = try? FileDescriptor.standardError.writeAll(Array(message.utf8))
            _exit(WorkerBootstrap.confinementFailureExitCode)
        }
        try? ProcessCalls.closeDescriptors(from: socketSlot + 1)
        // Work every worker does first, done once here so workers inherit it copy-on-write.
        preload()
        let socket = ZygoteSocket(descriptor: FileDescriptor(rawValue: socketSlot))
        var buffer = [UInt8](repeating: 0, count: WorkerLaunchPlan.maximumEncodedSize + 1)
        while true {
            guard let received = socket.receive(into: &buffer, descriptorCapacity: 0) else { _exit(0) }
            switch received {
            case .failure(let error):
                socket.send(.failed(error))
            case .success(let request):
                let request = Result { () throws(SpawnError) in try decodeMessage(ProfileZygoteRequest.self, buffer[0..<request.count]) }
                ZygoteSocket.forget(&buffer, count: buffer.count)
                do throws(SpawnError) {
                    let decoded = try request.get()
                    let (pid, pidfd, hostEnd) = try startProfileZygote(decoded.profile, host: socket, supervisorPID: supervisorPID, worker: worker)
                    if !socket.send(.succeeded(pid), passing: [pidfd, hostEnd]) {
                        try? ProcessCalls.sendSignal(SIGKILL, through: pidfd)
                    }
                    pidfd.closeAfterUse()
                    hostEnd.closeAfterUse()
                } catch {
                    socket.send(.failed(error))
                }
            }
        }
    }

    /// Forks the zygote of `profile` as a sibling (a child of the host, which reaps it) and returns
    /// its pid, its pidfd and the host's end of its socket.
    private static func startProfileZygote(
        _ profile: SandboxProfile,
        host: ZygoteSocket,
        supervisorPID: Int32,
        worker: @escaping (WorkerContext) -> Never
    ) throws(SpawnError) -> (Int32, FileDescriptor, FileDescriptor) {
        let (hostEnd, zygoteEnd) = try SpawnError.during(.socketpair) { () throws(SystemCallError) in
            try FileDescriptor.socketPair(sequenced: true)
        }
        let forked = try SpawnError.during(.clone, cleanup: {
            hostEnd.closeAfterUse()
            zygoteEnd.closeAfterUse()
        }) { () throws(SystemCallError) in try ProcessCalls.forkSibling(intoCgroup: nil) }
        guard forked.pid != 0, let pidfd = forked.pidfd else {
            host.descriptor.closeAfterUse()
            hostEnd.closeAfterUse()
            ProfileZygote.run(socket: zygoteEnd, profile: profile, supervisorPID: supervisorPID, worker: worker)
        }
        zygoteEnd.closeAfterUse()
        return (forked.pid, pidfd, hostEnd)
    }
}
