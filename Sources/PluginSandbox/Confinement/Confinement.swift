import CConfinementCalls
import PluginSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Confines the calling worker process with a profile prepared by ``PreparedConfinement``.
///
/// Order (each layer needs the ones before it): the capability bounding set (needs
/// CAP_SETPCAP) → identity (a uid change clears the parent-death signal, so that comes later) →
/// capabilities → rlimits → `no_new_privs` → Landlock (needs `no_new_privs` once capabilities are
/// gone) → parent-death signal, then a check that the supervisor is still the parent → seccomp,
/// last, so that the steps above may use calls the filter forbids. The filter's listener goes to
/// the supervisor: a forbidden call is reported there, where plugin code cannot reach.
/// A layer the profile requires that cannot be engaged fails the spawn, unless the profile lists
/// it in `allowDegraded`; the report says what was engaged and what degraded.
enum Confinement {
    /// Confines the calling process, single-threaded, before any plugin code. `ruleset` is the
    /// prepared Landlock ruleset as this process holds it (consumed: closed once restricted).
    /// Returns the report and the seccomp listener (nil without a filter).
    static func engage(
        _ prepared: PreparedConfinement,
        ruleset: FileDescriptor?,
        identity: WorkerIdentity?,
        supervisorPID: Int32
    ) throws(ConfinementError) -> (report: ConfinementReport, listener: FileDescriptor?) {
        let profile = prepared.profile
        var log = LayerLog(degradable: Set(profile.allowDegraded), layers: prepared.layers)
        ConfinementCalls.limitMallocArenas(2)

        if profile.identity.dropCapabilities {
            try log.attempt("capabilities", "bounding set cleared", record: false) { () throws(SystemCallError) in
                try ConfinementCalls.dropBoundingSet()
            }
        }
        if profile.identity.switchUser, let identity, geteuid() == 0 {
            try log.attempt("identity", "uid \(identity.uid) gid \(identity.gid), no groups") { () throws(SystemCallError) in
                try ConfinementCalls.setIdentity(identity)
            }
        }
        if profile.identity.dropCapabilities {
            try log.attempt("capabilities", "all dropped, bounding set cleared") { () throws(SystemCallError) in
                try ConfinementCalls.clearCapabilities()
            }
        }

        let limits: [(Int32, UInt64?, String)] = [
            (psc_rlimit_address_space, profile.rlimits.addressSpaceBytes, "as"),
            (psc_rlimit_open_files, profile.rlimits.openFiles, "nofile"),
            (psc_rlimit_processes, profile.rlimits.processes, "nproc"),
            (psc_rlimit_cpu, profile.rlimits.cpuSeconds, "cpu"),
            (psc_rlimit_core, profile.rlimits.coreBytes, "core"),
            (psc_rlimit_file_size, profile.rlimits.fileSizeBytes, "fsize"),
        ]
        let active = limits.compactMap { resource, value, name in value.map { (resource, $0, name) } }
        if !active.isEmpty {
            try log.attempt("rlimits", active.map { "\($0.2)=\($0.1)" }.joined(separator: " ")) { () throws(SystemCallError) in
                for (resource, value, _) in active { try ConfinementCalls.setResourceLimit(resource, to: value) }
            }
        }

        try log.attempt("no_new_privs", "PR_SET_NO_NEW_PRIVS") { () throws(SystemCallError) in
            try ConfinementCalls.setNoNewPrivileges()
        }

        if let landlock = prepared.landlock, let ruleset {
            try log.attempt("landlock", landlock.detail) { () throws(SystemCallError) in
                defer { ruleset.closeAfterUse() }
                try ConfinementCalls.landlockRestrict(ruleset)
            }
        } else {
            ruleset?.closeAfterUse()
        }

        try log.attempt("pdeathsig", "SIGKILL on supervisor death") { () throws(SystemCallError) in
            try ProcessCalls.setParentDeathSignal(SIGKILL)
        }
        if getppid() != supervisorPID {
            throw ConfinementError(layer: "pdeathsig", errno: ESRCH, detail: "the supervisor died during confinement")
        }

        var listener: FileDescriptor?
        if let seccomp = prepared.seccomp {
            try log.attempt("seccomp", seccomp.detail) { () throws(SystemCallError) in
                listener = try ConfinementCalls.loadSeccomp(seccomp.program, listener: true)
            }
        }
        return (ConfinementReport(layers: log.layers), listener)
    }
}
