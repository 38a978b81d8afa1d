/// A cgroup interface, as the kernel calls it.
public enum CgroupVersion: String, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The legacy hierarchies: one mount per controller (or per group of controllers).
    case v1
    /// The unified hierarchy.
    case v2

    public var description: String { rawValue }
}

/// What a cgroup controls or counts for a worker.
public struct CgroupResource: Sendable, Hashable, Codable, CustomStringConvertible {
    private enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case memory, cpu, cpuAccounting = "cpuacct", pids
    }

    private let kind: Kind
    private init(_ kind: Kind) { self.kind = kind }

    /// A hard memory limit (kernel memory included), its usage, peak and OOM kills.
    public static let memory = CgroupResource(.memory)
    /// A CPU quota and weight.
    public static let cpu = CgroupResource(.cpu)
    /// CPU time used (v1 `cpuacct`, v2 `cpu.stat`).
    public static let cpuAccounting = CgroupResource(.cpuAccounting)
    /// A limit on tasks (processes and threads).
    public static let pids = CgroupResource(.pids)

    /// Every resource, in report order.
    public static let all: [CgroupResource] = Kind.allCases.map(CgroupResource.init)

    /// The controller's name: `memory`, `cpu`, `cpuacct`, `pids`.
    public var description: String { kind.rawValue }

    /// The v1 controller that serves this resource (the mount option naming the hierarchy).
    var v1Controller: String { kind.rawValue }

    /// The v2 controller that must be enabled for this resource; nil for CPU accounting, which
    /// every v2 group has (`cpu.stat`).
    var v2Controller: String? { self == .cpuAccounting ? nil : kind.rawValue }

    public init(from decoder: any Decoder) throws {
        kind = try Kind(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try kind.encode(to: encoder)
    }
}

/// Whether one resource is engaged on this machine, where, or why not.
public struct CgroupEngagement: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Engaged (with the version and the directory of the supervisor's group) or degraded (with the reason).
    public enum State: Sendable, Equatable, Codable {
        /// The resource is controlled through `version`; `directory` is where worker groups are made.
        case engaged(version: CgroupVersion, directory: String)
        /// The resource cannot be controlled here, and why.
        case degraded(reason: String)
    }

    /// The resource.
    public var resource: CgroupResource
    /// Engaged or degraded.
    public var state: State

    /// Creates an engagement line.
    public init(resource: CgroupResource, state: State) {
        self.resource = resource
        self.state = state
    }

    /// The version, when engaged.
    public var version: CgroupVersion? {
        if case .engaged(let version, _) = state { return version }
        return nil
    }

    /// The reason, when degraded.
    public var degradedReason: String? {
        if case .degraded(let reason) = state { return reason }
        return nil
    }

    /// `memory: engaged (v1 /sys/fs/cgroup/memory/...)` or `pids: DEGRADED (reason)`.
    public var description: String {
        switch state {
        case .engaged(let version, let directory): "\(resource): engaged (\(version) \(directory))"
        case .degraded(let reason): "\(resource): DEGRADED (\(reason))"
        }
    }
}
