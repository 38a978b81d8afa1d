#if canImport(Glibc)
import Glibc
#endif
/// The counters of one group, each a control file kept open (nil: the resource is not engaged,
/// or this kernel lacks the file).
struct CgroupCounters: Sendable {
    var memoryCurrent: CgroupCounter?
    var memoryPeak: CgroupCounter?
    var oomKills: CgroupCounter?
    var cpuUsage: CgroupCounter?
    var pidsCurrent: CgroupCounter?

    /// Opens the counters of the group whose directory in hierarchy `i` is `directories[i]`.
    init(plan: CgroupPlan, directories: [String]) throws(CgroupError) {
        func at(_ resource: CgroupResource) -> (String, Bool)? {
            plan.served[resource].map { (directories[$0] + "/", plan.hierarchies[$0].version == .v1) }
        }
        var opened: [CgroupCounter] = []
        do {
            func counter(_ path: String, _ format: CgroupCounter.Format) throws(CgroupError) -> CgroupCounter {
                let counter = try CgroupCounter(path: path, format: format)
                opened.append(counter)
                return counter
            }
            if let (directory, v1) = at(.memory) {
                memoryCurrent = try counter(directory + (v1 ? "memory.usage_in_bytes" : "memory.current"), .number(scale: 1))
                let peak = directory + (v1 ? "memory.max_usage_in_bytes" : "memory.peak")
                memoryPeak = CgroupFiles.exists(peak) ? try counter(peak, .number(scale: 1)) : nil
                oomKills = try counter(directory + (v1 ? "memory.oom_control" : "memory.events"), .keyed("oom_kill", scale: 1))
            }
            if let (directory, v1) = at(.cpuAccounting) {
                cpuUsage = v1 ? try counter(directory + "cpuacct.usage", .number(scale: 1))
                              : try counter(directory + "cpu.stat", .keyed("usage_usec", scale: 1000))
            }
            if let (directory, _) = at(.pids) {
                pidsCurrent = try counter(directory + "pids.current", .number(scale: 1))
            }
        } catch {
            opened.forEach { $0.close() }
            throw error
        }
    }

    func close() {
        [memoryCurrent, memoryPeak, oomKills, cpuUsage, pidsCurrent].forEach { $0?.close() }
    }

    /// Reads `counter`, or explains why there is none.
    static func read(_ counter: CgroupCounter?, _ resource: CgroupResource, file: String) throws(CgroupError) -> UInt64 {
        guard let counter else {
            throw CgroupError(.notEngaged, path: file, detail: "no \(resource) counter for this group on this machine")
        }
        return try counter.read()
    }
}

/// One pre-made worker group: a directory in every planned hierarchy, its descriptors open, the
/// settings written so far.
struct CgroupSlot: Sendable {
    var name: String
    var directories: [String]
    /// v1 `tasks` (a single-threaded worker writing `0` moves itself without the global
    /// threadgroup lock) or v2 `cgroup.procs`, write-only, close-on-exec.
    var joinDescriptors: [Int32]
    /// The v2 directory (read-only, close-on-exec) for `CLONE_INTO_CGROUP`.
    var cloneDescriptor: Int32?
    var counters: CgroupCounters
    var settings: CgroupSettings

    func closeDescriptors() {
        for descriptor in joinDescriptors + (cloneDescriptor.map { [$0] } ?? []) { CgroupFiles.close(descriptor) }
        counters.close()
    }
}

/// Where worker groups are made on this machine and how: the plan, the parent group in each of
/// its hierarchies, and what the kernel offers there.
struct CgroupLayout: Sendable {
    var plan: CgroupPlan
    /// The parent group's directory in each planned hierarchy.
    var parents: [String]
    /// v1: the memory hierarchy has `memory.memsw.limit_in_bytes` (swap accounting).
    var legacySwapLimit: Bool
    /// v2: the memory controller has `memory.swap.max`.
    var unifiedSwapLimit: Bool
    /// The aggregate CPU quota in percent of one CPU; worker quotas are capped to it (v1 refuses
    /// a child quota above its parent's).
    var cpuCapPercent: Int?

    /// Makes the group `name` in every hierarchy with `settings` written; on failure removes what it made.
    func makeGroup(named name: String, settings: CgroupSettings) throws(CgroupError) -> CgroupSlot {
        let directories = parents.map { $0 + "/" + name }
        var made: [String] = []
        var descriptors: [Int32] = []
        do throws(CgroupError) {
            var join: [Int32] = []
            var clone: Int32?
            for (index, hierarchy) in plan.hierarchies.enumerated() {
                let directory = directories[index]
                try CgroupFiles.makeDirectory(directory)
                made.append(directory)
                let v1 = hierarchy.version == .v1
                join.append(try CgroupFiles.open(directory + (v1 ? "/tasks" : "/cgroup.procs"), .writeOnly))
                descriptors.append(join[join.count - 1])
                if !v1 {
                    let descriptor = try CgroupFiles.open(directory, .readOnly, directory: true)
                    descriptors.append(descriptor)
                    clone = descriptor
                }
            }
            try prepare(directories)
            var slot = CgroupSlot(name: name, directories: directories, joinDescriptors: join, cloneDescriptor: clone,
                                  counters: try CgroupCounters(plan: plan, directories: directories), settings: CgroupSettings())
            do {
                try apply(settings, to: &slot)
            } catch {
                slot.counters.close()
                throw error
            }
            return slot
        } catch {
            descriptors.forEach(CgroupFiles.close)
            for directory in made.reversed() { _ = CgroupFiles.removeDirectory(directory) }
            throw error
        }
    }

    /// Writes what differs between the slot's settings and `settings`.
    func apply(_ settings: CgroupSettings, to slot: inout CgroupSlot) throws(CgroupError) {
        for write in settings.writes(from: slot.settings, layout: self) {
            try CgroupFiles.write(write.value, to: slot.directories[write.hierarchy] + "/" + write.file)
        }
        slot.settings = settings
    }

    /// Online CPUs now (at least 1): what a share of the machine is a share of.
    static var onlineProcessors: Int { max(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 1) }

    /// The settings of a worker asking for `limits`, or an error for a limit that cannot be engaged
    /// when the limits do not allow degrading. The CPU quota is capped by the limits' share of the
    /// machine and by the aggregate's.
    func settings(for limits: CgroupLimits) throws(CgroupError) -> CgroupSettings {
        if !limits.allowDegraded {
            for resource in limits.requested where plan.served[resource] == nil {
                throw CgroupError(.notEngaged, path: "/proc/self/cgroup",
                                  detail: (plan.missing[resource] ?? "\(resource) is not engaged") + "; allowDegraded does not list cgroup")
            }
        }
        func engaged<Value>(_ resource: CgroupResource, _ value: Value?) -> Value? {
            plan.served[resource] == nil ? nil : value
        }
        var cpu = engaged(.cpu, limits.cpuPercent).map { min(max($0, 1), 1_000_000) }
        if let share = engaged(.cpu, limits.cpuPercentOfMachine) {
            let machine = max(share, 1) * Self.onlineProcessors
            cpu = min(cpu ?? machine, machine)
        }
        if let cap = cpuCapPercent, let asked = cpu { cpu = min(asked, cap) }
        return CgroupSettings(memoryBytes: engaged(.memory, limits.memoryBytes), cpuPercent: cpu,
                              cpuWeight: engaged(.cpu, limits.cpuWeight).map { min(max($0, 1), 10_000) },
                              pids: engaged(.pids, limits.pids).map { max($0, 1) })
    }

    /// One-time writes in a new worker group: v1 the CFS period; v2 no swap and OOM kills of the
    /// whole group (a worker is one unit: a half-killed worker is of no use).
    private func prepare(_ directories: [String]) throws(CgroupError) {
        if let index = plan.served[.cpu], plan.hierarchies[index].version == .v1 {
            try CgroupFiles.write(String(CgroupSettings.periodMicroseconds), to: directories[index] + "/cpu.cfs_period_us")
        }
        if let index = plan.served[.memory], plan.hierarchies[index].version == .v2 {
            try CgroupFiles.write("1", to: directories[index] + "/memory.oom.group")
            if unifiedSwapLimit { try CgroupFiles.write("0", to: directories[index] + "/memory.swap.max") }
        }
    }
}
