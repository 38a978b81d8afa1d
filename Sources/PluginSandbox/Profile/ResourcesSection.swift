/// Resource control by cgroups: what the kernel enforces on a worker (see `Sandbox/README.md`).
///
/// `memoryBytes` is the session's memory limit. With the memory cgroup engaged the kernel enforces
/// it (kernel memory included) and the supervisor reads the real peak when it classifies the end;
/// where it cannot be engaged (and `allowDegraded` lists `cgroup`), the supervisor falls back to
/// sampling RSS against `supervision.memoryLimitBytes`, which defaults to `memoryBytes`.
public struct ResourcesSection: Codable, Sendable, Hashable {
    /// Hard memory limit in bytes, kernel memory included.
    public var memoryBytes: UInt64?
    /// CPU quota in percent of one CPU (100: one full CPU): a spinning plugin gets at most this.
    public var cpuPercent: Int?
    /// The most of the whole machine one session may use, in percent of all online CPUs
    /// together (25 on a 2-CPU machine: half of one CPU). The quota is the smaller of this and
    /// ``cpuPercent``, so one profile fits small and large machines: on two CPUs a session that
    /// takes a full CPU leaves the supervisor and every other session one CPU to share.
    public var cpuPercentOfMachine: Int?
    /// CPU weight against other workers, 1 to 10000 (the kernel's default is 100).
    public var cpuWeight: Int?
    /// The most CPU time a session may use in any window; the supervisor ends it past that.
    public var cpuBudget: CPUBudget?
    /// Most tasks (processes and threads) in the worker's group.
    public var pids: Int?

    /// Creates a section.
    public init(memoryBytes: UInt64? = nil, cpuPercent: Int? = nil, cpuPercentOfMachine: Int? = nil, cpuWeight: Int? = nil,
                cpuBudget: CPUBudget? = nil, pids: Int? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuPercent = cpuPercent
        self.cpuPercentOfMachine = cpuPercentOfMachine
        self.cpuWeight = cpuWeight
        self.cpuBudget = cpuBudget
        self.pids = pids
    }

    /// The smallest memory limit a worker can start under.
    public static let minimumMemoryBytes: UInt64 = 4 << 20

    /// Checks every figure; errors name the key under `resources` and the value.
    func validate(supervision: SupervisionLimits) throws(ProfileError) {
        if let memoryBytes, memoryBytes < Self.minimumMemoryBytes {
            throw ProfileError(key: "resources.memoryBytes", value: "\(memoryBytes)",
                               reason: "must be at least \(Self.minimumMemoryBytes) (4 MiB): a worker cannot start in less")
        }
        if let cpuPercent, !(1...100_000).contains(cpuPercent) {
            throw ProfileError(key: "resources.cpuPercent", value: "\(cpuPercent)", reason: "must be 1 to 100000 (percent of one CPU)")
        }
        if let cpuPercentOfMachine, !(1...100).contains(cpuPercentOfMachine) {
            throw ProfileError(key: "resources.cpuPercentOfMachine", value: "\(cpuPercentOfMachine)",
                               reason: "must be 1 to 100 (percent of all online CPUs together)")
        }
        if let cpuWeight, !(1...10_000).contains(cpuWeight) {
            throw ProfileError(key: "resources.cpuWeight", value: "\(cpuWeight)", reason: "must be 1 to 10000 (100 is the kernel's default)")
        }
        if let pids, pids < 1 {
            throw ProfileError(key: "resources.pids", value: "\(pids)", reason: "must be positive (the worker itself is a task)")
        }
        if let budget = cpuBudget {
            for (key, value) in [("seconds", budget.seconds), ("windowSeconds", budget.windowSeconds)] where !(value.isFinite && value > 0) {
                throw ProfileError(key: "resources.cpuBudget.\(key)", value: "\(value)", reason: "must be a positive number of seconds")
            }
            if let cpuPercent, budget.seconds > budget.windowSeconds * Double(cpuPercent) / 100 {
                throw ProfileError(key: "resources.cpuBudget.seconds", value: "\(budget.seconds)",
                                   reason: "can never be spent: cpuPercent \(cpuPercent) allows at most "
                                       + "\(budget.windowSeconds * Double(cpuPercent) / 100) s in \(budget.windowSeconds) s")
            }
        }
        if let memoryBytes, let sampled = supervision.memoryLimitBytes, UInt64(max(sampled, 0)) > memoryBytes {
            throw ProfileError(key: "supervision.memoryLimitBytes", value: "\(sampled)",
                               reason: "must not exceed resources.memoryBytes (\(memoryBytes)): it is the RSS fallback of the same limit")
        }
    }
}

/// The most CPU time a session may use in any window of `windowSeconds`.
public struct CPUBudget: Codable, Sendable, Hashable {
    /// CPU seconds allowed per window.
    public var seconds: Double
    /// The window's length in seconds.
    public var windowSeconds: Double

    /// Creates a budget.
    public init(seconds: Double, windowSeconds: Double) {
        self.seconds = seconds
        self.windowSeconds = windowSeconds
    }

    /// The CPU time allowed per window.
    public var cpuTime: Duration { .nanoseconds(Int64(seconds * 1e9)) }
    /// The window.
    public var window: Duration { .nanoseconds(Int64(windowSeconds * 1e9)) }
}

extension SandboxProfile {
    /// The limits to create a worker's cgroup with (``CgroupController/createWorkerGroup(name:limits:)``):
    /// `resources`, degradable when `allowDegraded` lists `cgroup`.
    public var cgroupLimits: CgroupLimits {
        CgroupLimits(memoryBytes: resources?.memoryBytes, cpuPercent: resources?.cpuPercent,
                     cpuPercentOfMachine: resources?.cpuPercentOfMachine, cpuWeight: resources?.cpuWeight,
                     pids: resources?.pids, allowDegraded: allowDegraded.contains(CgroupController.layerName))
    }
}
