import CProcessCalls
import PluginSystem
import SystemPackage

/// The spawner's process-level system calls (`CProcessCalls`), each through the one retrying
/// wrapper of `PluginSystem`, so every failure is a ``SystemCallError`` naming the call.
enum ProcessCalls {
    /// Forks the calling single-threaded process as a sibling (`CLONE_PARENT | CLONE_PIDFD`,
    /// optionally `CLONE_INTO_CGROUP`). Returns pid 0 and no pidfd in the child.
    static func forkSibling(intoCgroup directory: FileDescriptor?) throws(SystemCallError) -> (pid: Int32, pidfd: FileDescriptor?) {
        var pidfd: Int32 = -1
        let pid = try systemCall("clone3(CLONE_PARENT)") { psp_clone_sibling(&pidfd, directory?.rawValue ?? -1) }
        return (pid, pid == 0 ? nil : FileDescriptor(rawValue: pidfd))
    }

    /// A pidfd for `pid`.
    static func pidfd(for pid: Int32) throws(SystemCallError) -> FileDescriptor {
        FileDescriptor(rawValue: try systemCall("pidfd_open") { psp_pidfd_open(pid) })
    }

    /// Sends `signal` through `pidfd`.
    static func sendSignal(_ signal: Int32, through pidfd: FileDescriptor) throws(SystemCallError) {
        _ = try systemCall("pidfd_send_signal") { psp_pidfd_send_signal(pidfd.rawValue, signal) }
    }

    /// Reaps the process of `pidfd`: nil while it runs (with `wait` false), else how it ended.
    static func reap(_ pidfd: FileDescriptor, wait: Bool) throws(SystemCallError) -> TerminationStatus? {
        var pid: Int32 = 0
        var code: Int32 = 0
        var value: Int32 = 0
        _ = try systemCall("waitid(P_PIDFD)") { psp_waitid_pidfd(pidfd.rawValue, wait ? 0 : 1, &pid, &code, &value) }
        if pid == 0 { return nil }
        if code == psp_exited_code { return .exited(value) }
        return .signaled(value, coreDumped: code == psp_dumped_code)
    }

    /// Waits until `descriptor` is readable (or hung up), at most `milliseconds` (negative: forever);
    /// false on timeout.
    static func waitReadable(_ descriptor: FileDescriptor, milliseconds: Int32) throws(SystemCallError) -> Bool {
        try systemCall("poll") { psp_poll_readable(descriptor.rawValue, milliseconds) } > 0
    }

    /// Whether the peer of the socket `descriptor` has hung up.
    static func peerHungUp(_ descriptor: FileDescriptor) -> Bool {
        psp_peer_hung_up(descriptor.rawValue) == 1
    }

    /// Closes every descriptor from `first` up.
    static func closeDescriptors(from first: Int32) throws(SystemCallError) {
        _ = try systemCall("close_range") { psp_close_range(UInt32(first), UInt32.max) }
    }

    /// A close-on-exec duplicate of `descriptor` numbered at least `minimum`.
    static func duplicate(_ descriptor: FileDescriptor, atLeast minimum: Int32) throws(SystemCallError) -> FileDescriptor {
        FileDescriptor(rawValue: try systemCall("fcntl(F_DUPFD_CLOEXEC)") { psp_duplicate_above(descriptor.rawValue, minimum) })
    }

    /// Blocks (or unblocks) every signal in the calling thread.
    static func blockAllSignals(_ block: Bool) throws(SystemCallError) {
        _ = try systemCall("pthread_sigmask") { block ? psp_block_all_signals() : psp_unblock_all_signals() }
    }

    /// Ignores `signal`.
    static func ignore(_ signal: Int32) throws(SystemCallError) {
        _ = try systemCall("sigaction(SIG_IGN)") { psp_ignore_signal(signal) }
    }

    /// `PR_SET_PDEATHSIG`.
    static func setParentDeathSignal(_ signal: Int32) throws(SystemCallError) {
        _ = try systemCall("prctl(PR_SET_PDEATHSIG)") { psp_set_parent_death_signal(signal) }
    }

    /// `PR_SET_NAME` of the calling thread.
    static func setThreadName(_ name: String) throws(SystemCallError) {
        _ = try systemCall("prctl(PR_SET_NAME)") { psp_set_thread_name(name) }
    }

    /// The number of threads of the calling process.
    static func threadCount() throws(SystemCallError) -> Int {
        Int(try systemCall("opendir(/proc/self/task)") { psp_thread_count() })
    }

    /// Joins the cgroup whose `cgroup.procs` `procs` is open for writing.
    static func joinCgroup(_ procs: FileDescriptor) throws(SystemCallError) {
        _ = try systemCall("write(cgroup.procs)") { psp_join_cgroup(procs.rawValue) }
    }

    /// Moves process `pid` (one thread: a new worker) into the cgroup whose `tasks` or
    /// `cgroup.procs` file `procs` is; false when the kernel refused.
    static func moveIntoCgroup(_ pid: Int32, _ procs: FileDescriptor) -> Bool {
        let text = Array(String(pid).utf8)
        return (try? procs.writeAll(text)) == text.count
    }

    /// Joins the cgroup v2 directory `directory`.
    static func joinCgroup(directory: FileDescriptor) throws(SystemCallError) {
        _ = try systemCall("write(cgroup.procs)") { psp_join_cgroup_directory(directory.rawValue) }
    }

    /// `posix_spawn` of `path`: stdin from /dev/null, each `(source, slot)` placed, every other
    /// descriptor closed, default signal actions, a new session; signals blocked when
    /// `blockSignals`. Returns the child's pid.
    static func spawn(
        _ path: String,
        arguments: [String],
        environment: [String],
        placing placements: [(source: FileDescriptor, slot: Int32)],
        blockSignals: Bool
    ) throws(SystemCallError) -> Int32 {
        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        defer {
            argv.release()
            envp.release()
        }
        let sources = placements.map(\.source.rawValue)
        let slots = placements.map(\.slot)
        return try systemCall("posix_spawn(\(path))") {
            psp_spawn(path, argv.pointer, envp.pointer, sources, slots, Int32(placements.count), blockSignals ? 1 : 0)
        }
    }
}

/// A NULL-terminated array of C strings for argv/envp; `release()` frees it.
struct CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() {
            let bytes = Array(string.utf8CString)
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
            copy.initialize(from: bytes, count: bytes.count)
            pointer[index] = copy
        }
        pointer[strings.count] = nil
    }

    func release() {
        for index in 0..<count { pointer[index]?.deallocate() }
        pointer.deallocate()
    }
}
