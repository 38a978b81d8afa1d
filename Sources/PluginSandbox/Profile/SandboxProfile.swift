import Foundation

/// A confinement policy, loaded from `Sandbox/profiles/*.json` (the single source of truth;
/// see `Sandbox/README.md` for the format).
public struct SandboxProfile: Codable, Sendable, Hashable {
    /// The profile's name, e.g. `default`.
    public var name: String
    /// What the profile is for.
    public var description: String
    /// The system-call filter.
    public var seccomp: SeccompSection
    /// Kernel resource limits.
    public var rlimits: ResourceLimits
    /// Filesystem and network access.
    public var landlock: LandlockSection
    /// Namespaces the worker enters: `net`, `ipc`, `uts`, and `mount` (which also gives it a minimal
    /// read-only root holding only its `landlock.readOnly` paths, three devices and a private `/proc`).
    public var namespaces: [String]
    /// Credentials and capabilities.
    public var identity: IdentitySection
    /// Limits the supervisor enforces from outside.
    public var supervision: SupervisionLimits
    /// Resource control by cgroups (nil: the profile asks for none).
    public var resources: ResourcesSection?
    /// Layers that may be missing on this kernel without failing the spawn (fail closed otherwise).
    public var allowDegraded: [String]

    /// A profile with only a name: the loosest confinement (no filter, no limits). For tests of
    /// the spawner itself; real workers use ``named(_:)`` or ``load(contentsOf:)``.
    public init(name: String) {
        self.name = name
        self.description = "unconfined test profile"
        self.seccomp = SeccompSection(defaultAction: "allow", groups: [], rules: [])
        self.rlimits = ResourceLimits()
        self.landlock = LandlockSection(enabled: false, readOnly: [])
        self.namespaces = []
        self.identity = IdentitySection(dropCapabilities: false, switchUser: false)
        self.supervision = SupervisionLimits()
        self.resources = nil
        self.allowDegraded = []
    }
}

/// The seccomp part of a profile.
public struct SeccompSection: Codable, Sendable, Hashable {
    /// What happens to a syscall no rule names: `trap` (the call is stopped and reported to the
    /// supervisor through the worker's seccomp listener; the supervisor ends the worker naming it),
    /// `kill`, `errno:NAME`, `log` (allowed but logged by the kernel) or `allow`.
    public var defaultAction: String
    /// Named groups of syscalls allowed without conditions.
    public var groups: [SyscallGroup]
    /// Single rules: an action for one syscall, with optional argument conditions.
    public var rules: [SyscallRule]
}

/// A named group of allowed syscalls, with the reason they are needed.
public struct SyscallGroup: Codable, Sendable, Hashable {
    public var name: String
    public var reason: String
    public var syscalls: [String]
}

/// An action for one syscall, optionally only when its arguments match.
public struct SyscallRule: Codable, Sendable, Hashable {
    public var syscall: String
    /// `allow`, `trap`, `kill`, `log` or `errno:NAME`.
    public var action: String
    /// All must hold (AND); none: always.
    public var when: [ArgumentCondition]?
    public var reason: String
}

/// A comparison on one syscall argument.
public struct ArgumentCondition: Codable, Sendable, Hashable {
    /// The argument index, 0 to 5.
    public var arg: Int
    /// `equals`, `not-equals` or `masked-equals` (`(argument & mask) == value`).
    public var op: String
    /// A number or a constant name (`CLONE_THREAD`, `PR_SET_NAME`, `TCGETS`, `MSG_OOB`, `F_SETPIPE_SZ`, ...).
    public var value: ConditionValue
    /// For `masked-equals`.
    public var mask: ConditionValue?
}

/// A number or a named constant in a condition.
public enum ConditionValue: Codable, Sendable, Hashable {
    case number(UInt64)
    case name(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt64.self) {
            self = .number(number)
        } else {
            self = .name(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let number): try container.encode(number)
        case .name(let name): try container.encode(name)
        }
    }
}

/// rlimits (nil: left as inherited).
public struct ResourceLimits: Codable, Sendable, Hashable {
    public var addressSpaceBytes: UInt64?
    public var openFiles: UInt64?
    public var processes: UInt64?
    public var cpuSeconds: UInt64?
    public var coreBytes: UInt64?
    public var fileSizeBytes: UInt64?

    public init(addressSpaceBytes: UInt64? = nil, openFiles: UInt64? = nil, processes: UInt64? = nil,
                cpuSeconds: UInt64? = nil, coreBytes: UInt64? = nil, fileSizeBytes: UInt64? = nil) {
        self.addressSpaceBytes = addressSpaceBytes
        self.openFiles = openFiles
        self.processes = processes
        self.cpuSeconds = cpuSeconds
        self.coreBytes = coreBytes
        self.fileSizeBytes = fileSizeBytes
    }
}

/// Landlock: no writes anywhere; reads only beneath `readOnly`; no TCP; signals and abstract
/// sockets scoped to the worker (ABI 6). With the `mount` namespace, `readOnly` also lists what
/// the worker's minimal root holds.
public struct LandlockSection: Codable, Sendable, Hashable {
    public var enabled: Bool
    public var readOnly: [String]
}

/// Credentials.
public struct IdentitySection: Codable, Sendable, Hashable {
    /// Drop every capability, including the bounding set.
    public var dropCapabilities: Bool
    /// When the supervisor is root, run each worker as its own unprivileged uid/gid.
    public var switchUser: Bool
}

/// Limits the supervisor enforces on a worker from outside.
public struct SupervisionLimits: Codable, Sendable, Hashable {
    public var heartbeatIntervalMilliseconds: Int
    public var heartbeatTimeoutMilliseconds: Int
    public var requestTimeoutMilliseconds: Int
    /// The RSS limit the supervisor samples against where no memory cgroup is engaged; when the
    /// profile omits it, `resources.memoryBytes`.
    public var memoryLimitBytes: Int?
    public var maximumFrameLength: Int
    public var maximumInFlight: Int

    public init(heartbeatIntervalMilliseconds: Int = 500, heartbeatTimeoutMilliseconds: Int = 3000,
                requestTimeoutMilliseconds: Int = 10_000, memoryLimitBytes: Int? = 256 << 20,
                maximumFrameLength: Int = 1 << 20, maximumInFlight: Int = 256) {
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.heartbeatTimeoutMilliseconds = heartbeatTimeoutMilliseconds
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.memoryLimitBytes = memoryLimitBytes
        self.maximumFrameLength = maximumFrameLength
        self.maximumInFlight = maximumInFlight
    }
}
