import CSeccomp
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Emptying and removing groups: kill what is left, then `rmdir`, retrying while the kernel still
/// counts exiting tasks (EBUSY). Used by ``WorkerCgroup/destroy()``, by the controller's shutdown
/// and by the cleanup of a dead supervisor's parent group.
enum CgroupCleanup {
    /// How long a removal keeps retrying before it reports EBUSY.
    static let patience: Duration = .seconds(5)

    /// Kills every task left in `directories` (one group, one directory per hierarchy) and removes them.
    static func removeGroup(_ directories: [String]) throws(CgroupError) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: patience)
        var pending = directories
        var pause: Duration = .microseconds(100)
        while true {
            for directory in pending { try killTasks(in: directory) }
            var busy: [(String, Errno)] = []
            for directory in pending {
                if let errno = CgroupFiles.removeDirectory(directory), errno != .noSuchFileOrDirectory {
                    guard errno == .resourceBusy else { throw CgroupError(.removeGroup, path: directory, errno: errno) }
                    busy.append((directory, errno))
                }
            }
            if busy.isEmpty { return }
            if clock.now >= deadline {
                throw CgroupError(.removeGroup, path: busy[0].0, errno: busy[0].1, detail: "tasks still in the group after \(patience)")
            }
            pending = busy.map(\.0)
            usleep(UInt32(pause.components.attoseconds / 1_000_000_000_000))
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    /// Removes `directory` and every group beneath it, deepest first.
    static func removeTree(_ directory: String) throws(CgroupError) {
        let children: [String]
        do {
            children = try CgroupFiles.childGroups(of: directory)
        } catch where error.errno == .noSuchFileOrDirectory {
            return
        }
        for child in children { try removeTree(directory + "/" + child) }
        try removeGroup([directory])
    }

    /// Sends SIGKILL to every task in the group: v2 through `cgroup.kill` (the whole subtree at
    /// once, racing no fork); otherwise to each pid in `cgroup.procs`, through a pidfd opened while
    /// the pid was still listed, so a pid reused by a process outside the group is never signalled.
    static func killTasks(in directory: String) throws(CgroupError) {
        let killFile = directory + "/cgroup.kill"
        if CgroupFiles.exists(killFile) {
            try CgroupFiles.write("1", to: killFile)
            return
        }
        let listed = try processesIfPresent(in: directory)
        if listed.isEmpty { return }
        let handles = listed.map { pid in (pid, try? ProcessCalls.pidfd(for: pid)) }
        defer { for (_, descriptor) in handles { descriptor?.closeAfterUse() } }
        let stillListed = Set(try processesIfPresent(in: directory))
        for (pid, descriptor) in handles {
            guard let descriptor, stillListed.contains(pid) else { continue }
            do {
                try ProcessCalls.sendSignal(SIGKILL, through: descriptor)
            } catch where error.errno != .noSuchProcess {
                throw CgroupError(.kill, path: directory + "/cgroup.procs", errno: error.errno, detail: "pid \(pid)")
            } catch {}
        }
    }

    private static func processesIfPresent(in directory: String) throws(CgroupError) -> [Int32] {
        do {
            return try CgroupFiles.processes(in: directory)
        } catch where error.errno == .noSuchFileOrDirectory || error.errno == .operationNotSupportedByDevice {
            return []
        }
    }

    /// The parent groups in `directory` left by dead supervisors: `<prefix>-<pid>` (and the v2
    /// `<prefix>-<pid>-supervisor` leaf) whose pid is dead, or alive in another group, or alive
    /// but started after the group last changed (the pid was reused).
    static func staleParents(in directory: String, prefix: String, hierarchyPath: (Int32) -> String?) -> [String] {
        guard let names = try? CgroupFiles.childGroups(of: directory) else { return [] }
        return names.filter { name in
            guard name.hasPrefix(prefix + "-") else { return false }
            var rest = name.dropFirst(prefix.count + 1)
            if rest.hasSuffix("-supervisor") { rest = rest.dropLast("-supervisor".count) }
            guard !rest.isEmpty, rest.allSatisfy(\.isASCII), rest.allSatisfy(\.isNumber), let pid = Int32(rest) else { return false }
            return isStale(directory + "/" + name, owner: pid, expectedGroup: directory, hierarchyPath: hierarchyPath)
        }
    }

    private static func isStale(_ group: String, owner pid: Int32, expectedGroup: String, hierarchyPath: (Int32) -> String?) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        if let path = hierarchyPath(pid), path != expectedGroup, !path.hasPrefix(expectedGroup + "/") { return true }
        guard let changed = CgroupFiles.statusChangeTime(group), let started = ProcessStart.time(of: pid) else { return false }
        return started > changed + 5
    }
}

/// When a process started, in seconds since the epoch (from `/proc/<pid>/stat` and `btime`).
enum ProcessStart {
    static func time(of pid: Int32) -> Double? {
        guard let stat = try? CgroupFiles.readText("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")"),
              let boot = try? CgroupFiles.readText("/proc/stat") else { return nil }
        // After the command in parentheses: field 3 (state) onwards; starttime is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        guard let line = boot.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let bootTime = Double(line.dropFirst("btime ".count)) else { return nil }
        return bootTime + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
