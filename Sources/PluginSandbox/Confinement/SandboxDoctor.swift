import CSeccomp
import Foundation
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
        let landlockABI = Int(ps_cf_landlock_abi())
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let seccompAvailable = status.contains("Seccomp:")
        let userNamespaces = FileManager.default.fileExists(atPath: "/proc/self/ns/user")
        let pidfd = CSeccompProbe.pidfdAvailable
        let rules = profile.seccomp.groups.reduce(0) { $0 + $1.syscalls.count } + profile.seccomp.rules.count
        let layers: [DoctorReport.Layer] = [
            .init(name: "seccomp", supported: seccompAvailable, kernel: seccompAvailable ? "filter mode, TSYNC" : "absent",
                  profile: profile.seccomp.defaultAction == "allow" && profile.seccomp.rules.isEmpty ? "not used" : "default \(profile.seccomp.defaultAction), \(rules) syscall rules"),
            .init(name: "landlock", supported: landlockABI > 0, kernel: landlockABI > 0 ? "ABI \(landlockABI)\(landlockABI >= 4 ? " (tcp)" : "")\(landlockABI >= 6 ? " (signal scoping)" : "")" : "absent",
                  profile: profile.landlock.enabled ? "read-only: \(profile.landlock.readOnly.isEmpty ? "nothing" : profile.landlock.readOnly.joined(separator: ", ")), no writes" : "not used"),
            .init(name: "namespaces", supported: root || userNamespaces, kernel: root ? "root: net, ipc" : (userNamespaces ? "via user namespace" : "absent"),
                  profile: profile.namespaces.isEmpty ? "not used" : profile.namespaces.joined(separator: "+")),
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

enum CSeccompProbe {
    static var pidfdAvailable: Bool {
        let descriptor = ps_spawn_pidfd_open(getpid())
        if descriptor >= 0 { close(descriptor) }
        return descriptor >= 0
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
