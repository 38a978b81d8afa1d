import CSeccomp
#if canImport(Glibc)
import Glibc
#endif

/// The zygote: a single-threaded copy of the host, forked at the top of `main`, that forks one worker
/// per request (CLONE_PARENT, so every worker is a child of the supervisor, not of the zygote).
///
/// It dies with the host (PDEATHSIG, and end of stream on its socket), ignores every other signal,
/// and answers a malformed request with an error reply.
///
/// Workers inherit the zygote's parent, the host thread that called `WorkerBootstrap.start` (the main
/// thread), so their parent-death signal fires when the host dies. Workers are created by a raw
/// `clone3`, which skips glibc's fork handlers: safe only because the zygote is single-threaded and holds
/// no lock when it forks; glibc's cached thread id in a worker still reads the zygote's (only robust and
/// error-checking mutexes look at it).
enum Zygote {
    /// Forks the zygote if the process is single-threaded and registers the host's end as
    /// `ZygoteClient.current`. Does nothing when forking would not be safe or fails.
    static func launch(worker: @escaping (WorkerContext) -> Never) {
        guard ZygoteClient.current == nil, threadCount() == 1 else { return }
        fflush(nil)
        var pair: [Int32] = [-1, -1]
        let type = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard (try? SpawnSyscall.call(.zygoteStart, { socketpair(AF_UNIX, type, 0, &pair) })) != nil else { return }
        let hostPID = getpid()
        // Signals stay blocked across the fork until the zygote has installed its dispositions, so a
        // SIGTERM or SIGINT sent right at startup cannot kill it.
        var previousMask = sigset_t()
        ps_spawn_block_all_signals(&previousMask)
        let pid = fork()
        if pid == 0 {
            close(pair[0])
            serve(socket: pair[1], supervisorPID: hostPID, worker: worker)
        }
        ps_spawn_restore_signal_mask(&previousMask)
        close(pair[1])
        guard pid > 0 else {
            close(pair[0])
            return
        }
        let pidfd = ps_spawn_pidfd_open(pid)
        guard pidfd >= 0 else {
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
            close(pair[0])
            return
        }
        ZygoteClient.install(ZygoteClient(socket: pair[0], process: ProcessHandle(pid: pid, pidfd: pidfd)))
    }

    /// Number of threads of the calling process (entries of /proc/self/task); 0 when unknown.
    static func threadCount() -> Int {
        guard let directory = opendir("/proc/self/task") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }

    private static let ignoredSignals: [Int32] = [
        SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU, SIGALRM,
    ]

    private static func serve(socket: Int32, supervisorPID: Int32, worker: (WorkerContext) -> Never) -> Never {
        _ = ps_spawn_set_parent_death_signal(SIGKILL)
        if getppid() != supervisorPID { _exit(0) }
        for signal in ignoredSignals { ps_spawn_ignore_signal(signal) }
        var empty = sigset_t()
        sigemptyset(&empty)
        ps_spawn_restore_signal_mask(&empty)
        if socket > 3 { _ = ps_spawn_close_range(3, UInt32(socket - 1)) }
        _ = ps_spawn_close_range(UInt32(socket + 1), UInt32.max)
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard devNull >= 0, let stdinSource = try? SpawnSyscall.lift(devNull, above: WorkerChannels.firstFree) else {
            _exit(1)
        }
        var buffer = [UInt8](repeating: 0, count: WorkerLaunchPlan.maximumEncodedSize + 1)
        var stray = [Int32](repeating: -1, count: Int(PS_SPAWN_MAX_FDS))
        while true {
            var strayCount: Int32 = 0
            let received = buffer.withUnsafeMutableBytes { bytes in
                ps_spawn_recv_with_fds(socket, bytes.baseAddress, bytes.count, &stray, Int32(PS_SPAWN_MAX_FDS), &strayCount)
            }
            for index in 0..<Int(strayCount) { close(stray[index]) }
            let reply: ZygoteReply
            switch received {
            case 0 where peerHungUp(socket):
                _exit(0)  // the host closed its end
            case 0:
                reply = .failed(SpawnError(step: .decodeRequest, errno: ENODATA))  // an empty datagram
            case -Int(EMSGSIZE):
                reply = .failed(SpawnError(step: .requestTooLarge, errno: EMSGSIZE))
            case ..<0:
                _exit(1)
            default:
                let request = buffer[0..<received]
                do throws(SpawnError) {
                    let plan = try WorkerLaunchPlan.decode(request)
                    if plan.supervisorPID != supervisorPID { throw SpawnError(step: .decodeRequest, errno: EINVAL) }
                    try spawnWorker(plan, socket: socket, stdinSource: stdinSource, worker: worker)
                    continue  // spawnWorker replied
                } catch {
                    reply = .failed(error)
                }
            }
            _ = reply.encoded().withUnsafeBytes { ps_spawn_send_with_fds(socket, $0.baseAddress, $0.count, nil, 0) }
        }
    }

    /// Whether the host closed its end (a zero-length read is also what an empty datagram gives).
    private static func peerHungUp(_ socket: Int32) -> Bool {
        var entry = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0 && entry.revents & Int16(POLLHUP) != 0
    }

    /// Forks one worker as a sibling and replies with its pid and descriptors.
    private static func spawnWorker(
        _ plan: WorkerLaunchPlan,
        socket: Int32,
        stdinSource: Int32,
        worker: (WorkerContext) -> Never
    ) throws(SpawnError) {
        let channels = try WorkerChannels.create()
        var pidfd: Int32 = -1
        let pid = ps_spawn_fork_sibling(&pidfd)
        if pid == 0 {
            close(socket)
            enterWorker(plan, channels: channels, stdinSource: stdinSource, worker: worker)
        }
        channels.closeChildEnds()
        guard pid > 0 else {
            channels.closeSupervisorEnds()
            throw SpawnError(step: .clone, errno: -pid)
        }
        let descriptors = [pidfd] + channels.supervisorEnds
        let reply = ZygoteReply.spawned(pid).encoded()
        let sent = reply.withUnsafeBytes {
            ps_spawn_send_with_fds(socket, $0.baseAddress, $0.count, descriptors, Int32(descriptors.count))
        }
        if sent < 0 {
            // Nobody will own this worker: end it (the supervisor reaps it, or it dies with the supervisor).
            _ = ps_spawn_pidfd_send_signal(pidfd, SIGKILL)
        }
        for fd in descriptors { close(fd) }
    }

    /// In the new worker: descriptors into their slots, the requested environment, then the common path.
    private static func enterWorker(
        _ plan: WorkerLaunchPlan,
        channels: WorkerChannels,
        stdinSource: Int32,
        worker: (WorkerContext) -> Never
    ) -> Never {
        // Sources are all >= 5 (WorkerChannels), so no dup2 below overwrites a later source.
        let placements: [(Int32, Int32)] = [
            (stdinSource, STDIN_FILENO), (channels.outputWrite, STDOUT_FILENO), (channels.outputWrite, STDERR_FILENO),
            (channels.childSocket, WorkerChannels.sessionSlot), (channels.reportWrite, WorkerChannels.reportSlot),
        ]
        for (source, slot) in placements where dup2(source, slot) < 0 {
            _exit(WorkerBootstrap.confinementFailureExitCode)
        }
        clearenv()
        for (name, value) in plan.environment { setenv(name, value, 1) }
        WorkerBootstrap.runWorker(plan, mode: .zygote, worker: worker)
    }
}
