// Stand-in for CONFINEMENT's types until the `sandbox` branch merges (see briefs/sandbox-interface.md).
// The signatures match that interface exactly; this file is deleted at merge time and the real
// implementation takes over. The spawner relies on nothing beyond what is declared here.
import CSeccomp
#if canImport(Glibc)
import Glibc
#endif

/// A confinement policy loaded from Sandbox/profiles/*.json.
public struct SandboxProfile: Codable, Sendable, Equatable {
    /// The profile's name, e.g. "default".
    public var name: String

    /// Creates a profile with the given name.
    public init(name: String) {
        self.name = name
    }
}

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

/// Confines the calling process.
public enum Confinement {
    /// Confines the calling process. Call in the child, single-threaded, before any plugin code.
    /// stdio (0,1,2) and `descriptors` survive; every other fd is closed.
    public static func engage(
        _ profile: SandboxProfile,
        descriptors: ChildDescriptors,
        identity: WorkerIdentity?
    ) throws(ConfinementError) -> ConfinementReport {
        let noNewPrivs = ps_spawn_set_no_new_privs()
        if noNewPrivs < 0 { throw ConfinementError(layer: "no_new_privs", errno: -noNewPrivs) }
        let deathSignal = ps_spawn_set_parent_death_signal(SIGKILL)
        if deathSignal < 0 { throw ConfinementError(layer: "pdeathsig", errno: -deathSignal) }
        return ConfinementReport(layers: [
            EngagedLayer(name: "no_new_privs", detail: "PR_SET_NO_NEW_PRIVS"),
            EngagedLayer(name: "pdeathsig", detail: "SIGKILL on supervisor death"),
        ])
    }
}

/// A confinement layer that failed to engage, with the errno it failed with.
public struct ConfinementError: Error, Sendable, CustomStringConvertible {
    /// The layer that failed.
    public var layer: String
    /// The errno of the failing call.
    public var errno: Int32

    public var description: String {
        "confinement layer \(layer) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
