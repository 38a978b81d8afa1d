#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// File descriptors the child keeps open across confinement.
public struct ChildDescriptors: Sendable, Equatable {
    /// The protocol socket (fd 3 in the child).
    public var session: Int32
    /// Write end of the violation-report pipe (fd 4 in the child).
    public var report: Int32

    /// Creates the descriptor set.
    public init(session: Int32, report: Int32) {
        self.session = session
        self.report = report
    }
}

/// The unprivileged identity a worker runs as when the supervisor is root (nil: keep the current one).
public struct WorkerIdentity: Codable, Sendable, Equatable {
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

/// One engaged confinement layer, e.g. name "seccomp", detail "default action trap, 187 rules".
public struct EngagedLayer: Codable, Sendable, Equatable {
    /// The layer's name.
    public var name: String
    /// What the layer engaged.
    public var detail: String
}

/// What `Confinement.engage` engaged.
public struct ConfinementReport: Codable, Sendable, Equatable {
    /// The engaged layers, in order.
    public var layers: [EngagedLayer]
}

/// A confinement layer that failed to engage, with the errno it failed with.
public struct ConfinementError: Error, Sendable, CustomStringConvertible {
    /// The layer that failed.
    public var layer: String
    /// The errno of the failing call.
    public var errno: Int32
    /// More about the failure (the path, the profile key).
    public var detail: String = ""

    public var description: String {
        "confinement layer \(layer) failed: \(String(cString: strerror(errno))) (errno \(errno))" + (detail.isEmpty ? "" : ": \(detail)")
    }
}

/// The names of the confinement layers, as profiles and reports use them.
public enum ConfinementLayer {
    /// Every layer, in the order ``Confinement/engage(_:descriptors:identity:)`` engages them.
    public static let names = ["namespaces", "identity", "capabilities", "rlimits", "no_new_privs", "landlock", "pdeathsig", "seccomp"]
}

/// A seccomp violation as the worker's SIGSYS reporter wrote it to the report pipe.
public struct ViolationReport: Codable, Sendable, Equatable {
    /// The forbidden system call's name.
    public var syscall: String
    /// Its number.
    public var number: Int32
    /// The architecture.
    public var arch: String

    /// Parses one report line; nil for anything else (start failures, noise).
    public static func parse(_ line: some Collection<UInt8>) -> ViolationReport? {
        guard let decoded = try? JSONDecoder().decode(ReportLine.self, from: Data(line)), decoded.violation == "seccomp" else { return nil }
        return ViolationReport(syscall: decoded.syscall, number: decoded.number, arch: decoded.arch)
    }
}

/// The JSON line the SIGSYS reporter writes.
private struct ReportLine: Decodable {
    var violation: String
    var syscall: String
    var number: Int32
    var arch: String
}
