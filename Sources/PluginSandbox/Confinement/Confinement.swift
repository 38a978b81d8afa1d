import CSandboxReporter
import CSeccomp
#if canImport(Glibc)
import Glibc
#endif

/// Confines the calling process with a ``SandboxProfile``.
///
/// Order (each layer needs the ones before it): namespaces (needs capabilities) → identity and
/// capabilities (a uid change clears the parent-death signal, so that comes later) → rlimits →
/// `no_new_privs` → Landlock (needs `no_new_privs` once capabilities are gone) → parent-death
/// signal, then a check that the parent is still alive → the SIGSYS reporter → seccomp, last, so
/// that the steps above may use calls the filter forbids. File descriptors were already closed by
/// the spawner. A layer the profile requires that cannot be engaged fails the spawn, unless the
/// profile lists it in `allowDegraded`; the report says what was engaged and what degraded.
public enum Confinement {
    /// Confines the calling process. Call in the child, single-threaded, before any plugin code.
    /// stdio (0,1,2) and `descriptors` survive; every other fd is closed.
    public static func engage(
        _ profile: SandboxProfile,
        descriptors: ChildDescriptors,
        identity: WorkerIdentity?
    ) throws(ConfinementError) -> ConfinementReport {
        var layers: [EngagedLayer] = []
        let degradable = Set(profile.allowDegraded)
        func attempt(_ layer: String, _ detail: String, _ body: () -> Int32) throws(ConfinementError) {
            let result = body()
            if result == 0 {
                layers.append(EngagedLayer(name: layer, detail: detail))
            } else if degradable.contains(layer) {
                layers.append(EngagedLayer(name: layer, detail: "DEGRADED: \(String(cString: strerror(-result)))"))
            } else {
                throw ConfinementError(layer: layer, errno: -result, detail: detail)
            }
        }

        // Per-thread malloc arenas would reserve 64 MiB of address space each under RLIMIT_AS.
        ps_cf_limit_malloc_arenas(2)

        if !profile.namespaces.isEmpty {
            var flags: Int32 = 0
            if profile.namespaces.contains("net") { flags |= 0x4000_0000 } // CLONE_NEWNET
            if profile.namespaces.contains("ipc") { flags |= 0x0800_0000 } // CLONE_NEWIPC
            if geteuid() != 0 { flags |= 0x1000_0000 } // CLONE_NEWUSER: unprivileged namespaces
            try attempt("namespaces", profile.namespaces.joined(separator: "+")) { ps_cf_unshare(flags) }
        }

        if profile.identity.dropCapabilities { ps_cf_drop_bounding_set() }
        if profile.identity.switchUser, let identity, geteuid() == 0 {
            try attempt("identity", "uid \(identity.uid) gid \(identity.gid), no groups") {
                ps_cf_set_identity(identity.uid, identity.gid)
            }
        }
        if profile.identity.dropCapabilities {
            try attempt("capabilities", "all dropped, bounding set cleared") { ps_cf_clear_capabilities() }
        }

        let limits: [(Int32, UInt64?, String)] = [
            (Int32(RLIMIT_AS.rawValue), profile.rlimits.addressSpaceBytes, "as"),
            (Int32(RLIMIT_NOFILE.rawValue), profile.rlimits.openFiles, "nofile"),
            (6 /* RLIMIT_NPROC */, profile.rlimits.processes, "nproc"),
            (Int32(RLIMIT_CPU.rawValue), profile.rlimits.cpuSeconds, "cpu"),
            (Int32(RLIMIT_CORE.rawValue), profile.rlimits.coreBytes, "core"),
            (Int32(RLIMIT_FSIZE.rawValue), profile.rlimits.fileSizeBytes, "fsize"),
        ]
        let active = limits.compactMap { resource, value, name in value.map { (resource, $0, name) } }
        if !active.isEmpty {
            try attempt("rlimits", active.map { "\($0.2)=\($0.1)" }.joined(separator: " ")) {
                for (resource, value, _) in active {
                    let result = ps_cf_set_rlimit(resource, value)
                    if result != 0 { return result }
                }
                return 0
            }
        }

        try attempt("no_new_privs", "PR_SET_NO_NEW_PRIVS") { ps_cf_set_no_new_privs() }

        if profile.landlock.enabled {
            let abi = ps_cf_landlock_abi()
            var failed: Int32 = -1
            let readOnly = profile.landlock.readOnly
            let detail = "abi \(abi), read-only \(readOnly.isEmpty ? "nothing" : readOnly.joined(separator: ",")), no writes"
                + (abi >= 4 ? ", no tcp" : "") + (abi >= 6 ? ", signals scoped" : "")
            try attempt("landlock", detail) {
                guard abi > 0 else { return -ENOSYS }
                let pointers = readOnly.map { strdup($0) }
                defer { pointers.forEach { free($0) } }
                return pointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { buffer in
                    ps_cf_landlock_restrict(Int32(abi), buffer.baseAddress, Int32(buffer.count), &failed)
                }
            }
        }

        let parent = getppid()
        try attempt("pdeathsig", "SIGKILL on supervisor death") { ps_cf_set_parent_death_signal(SIGKILL) }
        if getppid() != parent || parent == 1 {
            throw ConfinementError(layer: "pdeathsig", errno: ESRCH, detail: "the supervisor died during confinement")
        }

        let action = profile.seccomp.defaultAction
        if action != "allow" || !profile.seccomp.rules.isEmpty {
            let policy: SeccompPolicy
            do {
                policy = try SeccompPolicy(profile.seccomp, pid: getpid())
            } catch {
                throw ConfinementError(layer: "seccomp", errno: EINVAL, detail: error.description)
            }
            let reporter = ps_cf_install_sigsys_reporter(descriptors.report)
            if reporter != 0 { throw ConfinementError(layer: "seccomp", errno: -reporter, detail: "SIGSYS reporter") }
            do {
                try policy.load()
                layers.append(EngagedLayer(name: "seccomp", detail: "default \(policy.defaultAction), \(policy.ruleCount) rules"))
            } catch where degradable.contains("seccomp") {
                layers.append(EngagedLayer(name: "seccomp", detail: "DEGRADED: \(error)"))
            }
        }
        return ConfinementReport(layers: layers)
    }
}
