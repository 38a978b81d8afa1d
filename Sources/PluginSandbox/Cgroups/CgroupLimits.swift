/// The limits of one worker's group (nil: no limit for that resource).
public struct CgroupLimits: Sendable, Equatable, Codable {
    /// Hard memory limit in bytes, kernel memory included; past it the kernel OOM-kills in the group.
    public var memoryBytes: UInt64?
    /// CPU quota in percent of one CPU (100: one full CPU; 250: two and a half).
    public var cpuPercent: Int?
    /// The most of the machine the group may use, in percent of all online CPUs together: the
    /// quota is the smaller of this and ``cpuPercent``.
    public var cpuPercentOfMachine: Int?
    /// CPU weight against other groups, 1 to 10000 (100 is the kernel's default).
    public var cpuWeight: Int?
    /// Most tasks (processes and threads) in the group.
    public var pids: Int?
    /// Whether a limit whose controller cannot be engaged may be left out (the profile lists the
    /// `cgroup` layer in `allowDegraded`); otherwise creating the group fails.
    public var allowDegraded: Bool

    /// Creates limits.
    public init(memoryBytes: UInt64? = nil, cpuPercent: Int? = nil, cpuPercentOfMachine: Int? = nil, cpuWeight: Int? = nil,
                pids: Int? = nil, allowDegraded: Bool = false) {
        self.memoryBytes = memoryBytes
        self.cpuPercent = cpuPercent
        self.cpuPercentOfMachine = cpuPercentOfMachine
        self.cpuWeight = cpuWeight
        self.pids = pids
        self.allowDegraded = allowDegraded
    }

    /// The resources these limits ask the kernel to enforce.
    var requested: [CgroupResource] {
        [memoryBytes.map { _ in CgroupResource.memory }, (cpuPercent ?? cpuPercentOfMachine ?? cpuWeight).map { _ in .cpu },
         pids.map { _ in .pids }]
            .compactMap { $0 }
    }
}

/// Limits for all workers of one supervisor together, set on their parent group.
public struct CgroupAggregateLimits: Sendable, Equatable, Codable {
    /// Memory of all workers together, kernel memory included.
    public var memoryBytes: UInt64?
    /// CPU of all workers together, in percent of the whole machine (100: every online CPU).
    public var cpuPercentOfMachine: Int?
    /// Tasks of all workers together.
    public var pids: Int?

    /// Creates aggregate limits.
    public init(memoryBytes: UInt64? = nil, cpuPercentOfMachine: Int? = nil, pids: Int? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuPercentOfMachine = cpuPercentOfMachine
        self.pids = pids
    }
}

/// What is written in one group: a limit per engaged resource (nil: the kernel's default).
struct CgroupSettings: Sendable, Equatable {
    var memoryBytes: UInt64?
    var cpuPercent: Int?
    var cpuWeight: Int?
    var pids: Int?

    /// The CFS period every group uses, in microseconds (the kernel's default).
    static let periodMicroseconds = 100_000

    /// One control-file write in one of the plan's hierarchies.
    struct Write: Sendable, Equatable {
        var hierarchy: Int
        var file: String
        var value: String
    }

    /// The writes that turn a group holding `old` into one holding `self`, in an order the kernel
    /// accepts (v1: `memory.limit_in_bytes` never above `memory.memsw.limit_in_bytes`).
    func writes(from old: CgroupSettings, layout: CgroupLayout) -> [Write] {
        var writes: [Write] = []
        if memoryBytes != old.memoryBytes, let index = layout.plan.served[.memory] {
            let v1 = layout.plan.hierarchies[index].version == .v1
            let limit = Write(hierarchy: index, file: v1 ? "memory.limit_in_bytes" : "memory.max",
                              value: memoryBytes.map(String.init) ?? (v1 ? "-1" : "max"))
            if v1 && layout.legacySwapLimit {
                let swap = Write(hierarchy: index, file: "memory.memsw.limit_in_bytes", value: limit.value)
                let lowering = (memoryBytes ?? .max) < (old.memoryBytes ?? .max)
                writes += lowering ? [limit, swap] : [swap, limit]
            } else {
                writes.append(limit)
            }
        }
        if let index = layout.plan.served[.cpu] {
            let v1 = layout.plan.hierarchies[index].version == .v1
            if cpuPercent != old.cpuPercent {
                let quota = cpuPercent.map { String($0 * (Self.periodMicroseconds / 100)) }
                writes.append(v1 ? Write(hierarchy: index, file: "cpu.cfs_quota_us", value: quota ?? "-1")
                                 : Write(hierarchy: index, file: "cpu.max", value: "\(quota ?? "max") \(Self.periodMicroseconds)"))
            }
            if cpuWeight != old.cpuWeight {
                let weight = cpuWeight ?? 100
                writes.append(v1 ? Write(hierarchy: index, file: "cpu.shares", value: String(Self.shares(forWeight: weight)))
                                 : Write(hierarchy: index, file: "cpu.weight", value: String(weight)))
            }
        }
        if pids != old.pids, let index = layout.plan.served[.pids] {
            writes.append(Write(hierarchy: index, file: "pids.max", value: pids.map(String.init) ?? "max"))
        }
        return writes
    }

    /// v1 `cpu.shares` for a v2-scale weight (100 ↔ 1024), as systemd converts them.
    static func shares(forWeight weight: Int) -> Int {
        min(max(weight * 1024 / 100, 2), 262_144)
    }

    /// `memory 256 MiB, cpu 100% weight 200, pids 64` for the engaged resources in `version`.
    /// `capCause` says what lowered the quota below `askedCPU`.
    func describe(_ resources: [CgroupResource], askedCPU: Int?, capCause: String = "the aggregate") -> String {
        resources.compactMap { resource in
            switch resource {
            case .memory: return "memory " + (memoryBytes.map(ByteCount.describe) ?? "no limit")
            case .cpu:
                var text = "cpu " + (cpuPercent.map { "\($0)%" } ?? "no quota")
                if let askedCPU, let cpuPercent, askedCPU > cpuPercent { text += " (asked \(askedCPU)%, capped by \(capCause))" }
                if let cpuWeight { text += " weight \(cpuWeight)" }
                return text
            case .pids: return "pids " + (pids.map(String.init) ?? "no limit")
            default: return nil
            }
        }.joined(separator: ", ")
    }
}

/// Byte counts for people: `256 MiB`, `1 GiB`, `1536 KiB`, `1000 bytes`.
enum ByteCount {
    static func describe(_ bytes: UInt64) -> String {
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(unit)"
        }
        return "\(bytes) bytes"
    }
}
