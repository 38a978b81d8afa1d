#if canImport(Glibc)
import Glibc
#endif

/// The unprivileged identity a worker runs as when the supervisor is root (nil: keep the current one).
public struct WorkerIdentity: Codable, Sendable, Hashable {
    /// The user id.
    public var uid: UInt32
    /// The group id.
    public var gid: UInt32

    /// Creates an identity.
    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }
}

/// One engaged confinement layer, e.g. name "seccomp", detail "default trap, 138 rules".
public struct EngagedLayer: Codable, Sendable, Equatable {
    /// The layer's name.
    public var name: String
    /// What the layer engaged (starts with `DEGRADED:` when the profile let it be skipped).
    public var detail: String

    /// Creates a layer record.
    public init(name: String, detail: String) {
        self.name = name
        self.detail = detail
    }
}

/// What a worker's confinement engaged, as the worker reports it over its bootstrap channel.
public struct ConfinementReport: Codable, Sendable, Equatable {
    /// The engaged layers, in order.
    public var layers: [EngagedLayer]
    /// Microseconds from the fork of the worker (or the start of an exec'd worker) to the moment it
    /// was confined: a figure for benchmarks and `inspect`, measured by the worker's own clock.
    public var spawnMicroseconds: Int?

    /// Creates a report.
    public init(layers: [EngagedLayer], spawnMicroseconds: Int? = nil) {
        self.layers = layers
        self.spawnMicroseconds = spawnMicroseconds
    }
}

/// A confinement layer that failed to engage, with the errno it failed with.
public struct ConfinementError: Error, Sendable, CustomStringConvertible {
    /// The layer that failed.
    public var layer: String
    /// The errno of the failing call.
    public var errno: Int32
    /// More about the failure (the call, the path, the profile key).
    public var detail: String = ""

    /// Creates an error.
    public init(layer: String, errno: Int32, detail: String = "") {
        self.layer = layer
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        "confinement layer \(layer) failed: \(String(cString: strerror(errno))) (errno \(errno))" + (detail.isEmpty ? "" : ": \(detail)")
    }
}

/// The names of the confinement layers, as profiles and reports use them.
public enum ConfinementLayer {
    /// Every layer, in the order they are engaged: the first two once per profile (in its zygote),
    /// the rest in each worker.
    public static let names = [
        "namespaces", "root", "identity", "capabilities", "rlimits", "no_new_privs", "landlock", "pdeathsig", "seccomp",
    ]
}
