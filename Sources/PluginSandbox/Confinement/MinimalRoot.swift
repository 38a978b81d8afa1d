import PluginSystem
import SystemPackage

/// The filesystem a worker sees: a read-only tmpfs holding only what its profile names.
///
/// Built once per profile in a new mount namespace (by the profile zygote, or by an exec'd worker
/// for itself): each `landlock.readOnly` path bind-mounted read-only at the same path (a symbolic
/// link recreated as the same link), `/dev/null`, `/dev/zero` and `/dev/urandom`, and a private
/// `/proc` mounted `hidepid=invisible,subset=pid`, so a worker running as its own uid sees no other
/// process and no system-wide file. The tmpfs becomes the root (`pivot_root`) and the old root is
/// detached: no path outside the profile exists, so none can even be stat'ed.
enum MinimalRoot {
    /// Device files every root carries.
    static let devices = ["/dev/null", "/dev/zero", "/dev/urandom"]
    /// How `/proc` is mounted.
    static let processOptions = "hidepid=invisible,subset=pid"
    /// Where the new root is assembled (the first that exists); hidden by its own tmpfs meanwhile.
    static let stagingCandidates = ["/tmp", "/mnt", "/run"]

    private enum Source {
        case bind(FileDescriptor, directory: Bool, device: Bool)
        case symlink(String)
    }

    /// Builds the root and enters it. Call right after `unshare(CLONE_NEWNS)`, as root.
    /// Returns the layer's detail for the confinement report.
    static func enter(readOnly: [String]) throws(SystemCallError) -> String {
        try ConfinementCalls.makeMountsPrivate()
        var entries: [(path: String, source: Source)] = []
        defer {
            for entry in entries {
                if case .bind(let descriptor, _, _) = entry.source { descriptor.closeAfterUse() }
            }
        }
        // Sources are opened in the new namespace (a bind must come from it) and before anything is
        // mounted over them.
        for path in covering(readOnly) {
            if let source = try source(for: path, device: false) { entries.append((path, source)) }
        }
        for path in devices {
            if let source = try source(for: path, device: true) { entries.append((path, source)) }
        }
        let stage = try stagingDirectory()
        try ConfinementCalls.mountTemporaryFilesystem(at: stage, options: "mode=0755,size=1m,nr_inodes=4096")
        for (path, source) in entries {
            let target = stage + path
            try makeParents(of: target, below: stage)
            switch source {
            case .symlink(let destination):
                try ConfinementCalls.makeSymlink(target, pointingTo: destination)
            case .bind(let descriptor, let directory, let device):
                if directory { try ConfinementCalls.makeDirectory(target) } else { try ConfinementCalls.makeFile(target) }
                try ConfinementCalls.bindReadOnly(descriptor, at: target, device: device)
            }
        }
        try ConfinementCalls.makeDirectory(stage + "/proc")
        try ConfinementCalls.mountProcess(at: stage + "/proc", options: processOptions)
        try ConfinementCalls.remountReadOnly(stage)
        try ConfinementCalls.pivot(into: stage)
        let named = entries.map(\.path).filter { !devices.contains($0) }
        return "read-only tmpfs root: \(named.isEmpty ? "nothing" : named.joined(separator: ",")), "
            + "/dev/{null,zero,urandom}, /proc \(processOptions)"
    }

    /// The paths to bind: normalised, without `/`, `/proc` (mounted afresh) and paths beneath
    /// another listed path.
    static func covering(_ paths: [String]) -> [String] {
        var chosen: [String] = []
        let normalised = paths.map { $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        for path in normalised.sorted(by: { $0.count < $1.count }) {
            if path == "/" || path == "/proc" || path.hasPrefix("/proc/") { continue }
            if chosen.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) { continue }
            chosen.append(path)
        }
        return chosen
    }

    /// What to place at `path`; nil when it does not exist (as Landlock skips a missing path).
    private static func source(for path: String, device: Bool) throws(SystemCallError) -> Source? {
        do throws(SystemCallError) {
            if try ConfinementCalls.isSymlink(path) { return .symlink(try ConfinementCalls.readLink(path)) }
            let descriptor = try ConfinementCalls.openPath(path)
            let directory: Bool
            do throws(SystemCallError) {
                directory = try ConfinementCalls.isDirectory(descriptor)
            } catch {
                descriptor.closeAfterUse()
                throw error
            }
            return .bind(descriptor, directory: directory, device: device)
        } catch where error.errno == .noSuchFileOrDirectory {
            return nil
        }
    }

    private static func stagingDirectory() throws(SystemCallError) -> String {
        for candidate in stagingCandidates {
            guard let descriptor = try? ConfinementCalls.openPath(candidate) else { continue }
            defer { descriptor.closeAfterUse() }
            if (try? ConfinementCalls.isDirectory(descriptor)) == true { return candidate }
        }
        throw SystemCallError(function: "staging directory (\(stagingCandidates.joined(separator: ", ")))", errno: .noSuchFileOrDirectory)
    }

    /// `mkdir -p` of the directories above `target`, beneath `stage`.
    private static func makeParents(of target: String, below stage: String) throws(SystemCallError) {
        let components = target.dropFirst(stage.count).split(separator: "/").dropLast()
        var path = stage
        for component in components {
            path += "/" + component
            try ConfinementCalls.makeDirectory(path)
        }
    }
}
