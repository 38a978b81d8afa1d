import CSeccomp
#if canImport(Glibc)
import Glibc
#endif

/// Exec mode: `posix_spawn` of the host executable with the hidden worker argument; the session socket
/// at fd 3, the report pipe at fd 4, stdout + stderr into the output pipe, stdin from /dev/null, the
/// launch plan in an environment variable.
enum ExecLauncher {
    /// glibc's POSIX_SPAWN_SETSID (a GNU extension Swift does not import).
    private static let spawnSetSID: Int32 = 0x80

    static func spawn(_ plan: WorkerLaunchPlan, executable: String) throws(SpawnError) -> SpawnedWorker {
        let encodedPlan = try plan.encoded()
        var environment = plan.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment[WorkerBootstrap.planVariable] = String(decoding: encodedPlan, as: UTF8.self)
        // argv[0] names the real binary (not /proc/self/exe) so process listings stay readable.
        let arguments = CStringArray([realPath(executable), WorkerBootstrap.workerArgument])
        let variables = CStringArray(environment.map { "\($0.key)=\($0.value)" })
        defer {
            arguments.free()
            variables.free()
        }

        let channels = try WorkerChannels.create()
        defer { channels.closeChildEnds() }
        let actions = UnsafeMutablePointer<posix_spawn_file_actions_t>.allocate(capacity: 1)
        let attributes = UnsafeMutablePointer<posix_spawnattr_t>.allocate(capacity: 1)
        posix_spawn_file_actions_init(actions)
        posix_spawnattr_init(attributes)
        defer {
            posix_spawn_file_actions_destroy(actions)
            posix_spawnattr_destroy(attributes)
            actions.deallocate()
            attributes.deallocate()
        }
        posix_spawn_file_actions_addopen(actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(actions, channels.outputWrite, STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(actions, channels.outputWrite, STDERR_FILENO)
        posix_spawn_file_actions_adddup2(actions, channels.childSocket, WorkerChannels.sessionSlot)
        posix_spawn_file_actions_adddup2(actions, channels.reportWrite, WorkerChannels.reportSlot)
        ps_spawn_file_actions_addclosefrom(actions, WorkerChannels.firstFree)
        var defaults = sigset_t()
        sigfillset(&defaults)
        var noneBlocked = sigset_t()
        sigemptyset(&noneBlocked)
        posix_spawnattr_setsigdefault(attributes, &defaults)
        posix_spawnattr_setsigmask(attributes, &noneBlocked)
        posix_spawnattr_setflags(
            attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | spawnSetSID)
        )

        let pidStorage = UnsafeMutablePointer<pid_t>.allocate(capacity: 1)
        defer { pidStorage.deallocate() }
        // Pointers cross to the spawn thread; this thread blocks until the call returns.
        let argv = arguments.pointer
        let envp = variables.pointer
        let status = SpawnThread.shared.run {
            posix_spawn(pidStorage, executable, actions, attributes, argv, envp)
        }
        if status != 0 {
            channels.closeSupervisorEnds()
            throw SpawnError(step: .posixSpawn, errno: status)
        }
        let pid = pidStorage.pointee
        let pidfd = ps_spawn_pidfd_open(pid)
        if pidfd < 0 {
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
            channels.closeSupervisorEnds()
            throw SpawnError(step: .pidfdOpen, errno: -pidfd)
        }
        return SpawnedWorker(
            pid: pid,
            process: ProcessHandle(pid: pid, pidfd: pidfd),
            socket: channels.supervisorSocket,
            output: channels.outputRead,
            reports: channels.reportRead,
            mode: .exec
        )
    }
}

/// The canonical path of `path`, or `path` itself when it cannot be resolved.
private func realPath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// A NULL-terminated array of C strings for argv/envp; `free()` releases it.
private struct CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() {
            pointer[index] = strdup(string)
        }
        pointer[strings.count] = nil
    }

    func free() {
        for index in 0..<count { Glibc.free(pointer[index]) }
        pointer.deallocate()
    }
}
