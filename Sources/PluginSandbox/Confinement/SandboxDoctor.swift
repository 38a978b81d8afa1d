import Foundation
import PluginSystem
#if canImport(Glibc)
import Glibc
#endif

/// What this kernel supports of each confinement layer, and what a profile engages of it.
public struct DoctorReport: Codable, Sendable, Equatable, CustomStringConvertible {
    /// One layer's line.
    public struct Layer: Codable, Sendable, Equatable {
        /// The layer's name.
        public var name: String
        /// Whether the kernel (and our privileges) can engage it.
        public var supported: Bool
        /// What the kernel offers.
        public var kernel: String
        /// What the profile asks of it (`not used` when nothing).
        public var profile: String
        /// Whether the profile's `allowDegraded` lets workers start without it.
        public var degradable: Bool = false
    }

    /// The profile examined.
    public var profileName: String
    /// The kernel release.
    public var kernelRelease: String
    /// Whether the supervisor runs as root.
    public var root: Bool
    /// Every layer.
    public var layers: [Layer]

    /// Layers the profile requires that this kernel cannot engage (a spawn would fail).
    public var blocking: [String] { layers.filter { !$0.supported && !$0.degradable && $0.profile != "not used" }.map(\.name) }

    public var description: String {
        var rows = [["LAYER", "KERNEL", "PROFILE \(profileName)"]]
        for layer in layers { rows.append([layer.name, (layer.supported ? "yes: " : "NO: ") + layer.kernel, layer.profile]) }
        var widths = [0, 0, 0]
        for row in rows { for index in 0..<3 { widths[index] = max(widths[index], row[index].count) } }
        var text = "kernel \(kernelRelease) · running as \(root ? "root" : "uid \(geteuid())")\n"
        text += rows.map { row in row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") }
            .joined(separator: "\n")
        text += blocking.isEmpty ? "\nevery layer the profile requires can be engaged" : "\nCANNOT ENGAGE: \(blocking.joined(separator: ", ")) (spawns will fail unless allowDegraded lists them)"
        return text
    }
}

/// The `sandboxctl doctor` report.
public enum SandboxDoctor {
    /// Probes the kernel and describes what `profile` would engage.
    public static func report(profile: SandboxProfile) -> DoctorReport {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let root = geteuid() == 0
        let landlockABI = ConfinementCalls.landlockABI()
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let seccompAvailable = status.contains("Seccomp:")
        let userNamespaces = FileManager.default.fileExists(atPath: "/proc/self/ns/user")
        let pidfd = pidfdAvailable
        let notify = ConfinementCalls.seccompNotifySupported
        let (major, minor) = kernelVersion(release)
        // hidepid=invisible and subset=pid came with Linux 5.8.
        let privateProc = root && (major, minor) >= (5, 8)
        let mountNamespace = profile.namespaces.contains("mount")
        let rules = profile.seccomp.groups.reduce(0) { $0 + $1.syscalls.count } + profile.seccomp.rules.count
        let layers: [DoctorReport.Layer] = [
            .init(name: "seccomp", supported: seccompAvailable, kernel: seccompAvailable ? "filter mode, TSYNC" : "absent",
                  profile: profile.seccomp.defaultAction == "allow" && profile.seccomp.rules.isEmpty ? "not used" : "default \(profile.seccomp.defaultAction), \(rules) syscall rules"),
            .init(name: "seccomp notify", supported: notify, kernel: notify ? "user notification (violations reported to the supervisor)" : "absent",
                  profile: profile.seccomp.defaultAction == "allow" && profile.seccomp.rules.isEmpty ? "not used" : "trap and foreign architectures reported by name"),
            .init(name: "landlock", supported: landlockABI > 0, kernel: landlockABI > 0 ? "ABI \(landlockABI)\(landlockABI >= 4 ? " (tcp)" : "")\(landlockABI >= 6 ? " (signal scoping)" : "")" : "absent",
                  profile: profile.landlock.enabled ? "read-only: \(profile.landlock.readOnly.isEmpty ? "nothing" : profile.landlock.readOnly.joined(separator: ", ")), no writes" : "not used"),
            .init(name: "signal scoping", supported: landlockABI >= 6,
                  kernel: landlockABI >= 6 ? "Landlock ABI \(landlockABI)" : "absent (Landlock ABI < 6): only per-worker uids keep signals in",
                  profile: profile.landlock.enabled ? "signals and abstract sockets scoped to the worker" : "not used"),
            .init(name: "namespaces", supported: root || userNamespaces, kernel: root ? "root: net, ipc, uts, mount" : (userNamespaces ? "via user namespace" : "absent"),
                  profile: profile.namespaces.isEmpty ? "not used" : profile.namespaces.joined(separator: "+")),
            .init(name: "mount namespace", supported: root, kernel: root ? "private mounts, tmpfs, pivot_root" : "needs root",
                  profile: mountNamespace ? "minimal read-only root: \(MinimalRoot.covering(profile.landlock.readOnly).joined(separator: ", ").nonEmpty ?? "nothing"), /dev/{null,zero,urandom}" : "not used"),
            .init(name: "hidepid proc", supported: privateProc, kernel: privateProc ? "procfs hidepid=invisible,subset=pid" : "needs root and Linux 5.8",
                  profile: mountNamespace ? "a private /proc showing only the worker itself" : "not used"),
            .init(name: "identity", supported: root, kernel: root ? "distinct uid per worker" : "not root: workers keep uid \(geteuid())",
                  profile: profile.identity.switchUser ? "uid per worker" : "not used"),
            .init(name: "capabilities", supported: true, kernel: "capset, bounding set",
                  profile: profile.identity.dropCapabilities ? "all dropped" : "not used"),
            .init(name: "rlimits", supported: true, kernel: "setrlimit",
                  profile: [profile.rlimits.addressSpaceBytes.map { "as \($0 >> 20) MiB" }, profile.rlimits.openFiles.map { "nofile \($0)" },
                            profile.rlimits.processes.map { "nproc \($0)" }, profile.rlimits.cpuSeconds.map { "cpu \($0) s" }]
                    .compactMap { $0 }.joined(separator: ", ").nonEmpty ?? "not used"),
            .init(name: "no_new_privs", supported: true, kernel: "prctl", profile: "always"),
            .init(name: "pdeathsig", supported: true, kernel: "prctl", profile: "always"),
            .init(name: "pidfd", supported: pidfd, kernel: pidfd ? "pidfd_open, waitid(P_PIDFD)" : "absent (SIGCHLD fallback)", profile: "supervisor death watch"),
        ] + cgroupLayers(profile: profile)
        return DoctorReport(profileName: profile.name, kernelRelease: release, root: root, layers: layers)
    }
}

extension SandboxDoctor {
    static var pidfdAvailable: Bool {
        guard let descriptor = try? ProcessCalls.pidfd(for: getpid()) else { return false }
        descriptor.closeAfterUse()
        return true
    }

    /// Major and minor version of a kernel release such as `6.18.44-fc`.
    static func kernelVersion(_ release: String) -> (Int, Int) {
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return (numbers.first ?? 0, numbers.dropFirst().first ?? 0)
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
