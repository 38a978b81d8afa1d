/// One mounted cgroup hierarchy in which this process has a group.
struct CgroupHierarchy: Sendable, Hashable {
    /// v1 or v2.
    var version: CgroupVersion
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory`.
    var mountPoint: String
    /// The directory of the hierarchy mounted there (`/` unless a subtree is bind-mounted).
    var mountRoot: String
    /// v1: the controllers bound to the hierarchy (mount options). v2: the controllers listed in
    /// our own group's `cgroup.controllers` (what we may enable below us).
    var controllers: Set<String>
    /// The directory of this process's own group, e.g. `/sys/fs/cgroup/memory/process_api/ab12`.
    var ownDirectory: String

    /// The directory of the group of process `pid` in this hierarchy, if it is visible here.
    func directory(ofProcess pid: Int32) -> String? {
        guard let text = try? CgroupFiles.readText("/proc/\(pid)/cgroup") else { return nil }
        let membership = CgroupDiscovery.parseMemberships(text).first { membership in
            version == .v2 ? membership.hierarchy == 0 && membership.controllers.isEmpty
                           : controllers.isSubset(of: Set(membership.controllers))
        }
        let mount = CgroupDiscovery.Mount(version: version, mountPoint: mountPoint, root: mountRoot, options: [])
        return membership.flatMap { CgroupDiscovery.visible($0.path, in: [mount])?.1 }
    }
}

/// What `/proc/self/cgroup` and `/proc/self/mountinfo` say about this process's groups.
struct CgroupDiscovery: Sendable, Equatable {
    /// The v1 hierarchies with at least one controller we use, and in which our group is visible.
    var legacy: [CgroupHierarchy]
    /// The unified hierarchy, when it is mounted and our group is visible in it.
    var unified: CgroupHierarchy?
    /// Why a hierarchy we belong to cannot be used (not mounted, our group outside the mount).
    var problems: [String]

    /// The v1 controllers we look for.
    static let legacyControllers: Set<String> = ["memory", "cpu", "cpuacct", "pids"]

    /// One line of `/proc/self/mountinfo` for a cgroup or cgroup2 file system.
    struct Mount: Sendable, Equatable {
        var version: CgroupVersion
        var mountPoint: String
        /// The directory of the hierarchy that is mounted there (`/` unless a subtree is bind-mounted).
        var root: String
        /// The super options (v1: the controllers and `name=`).
        var options: Set<String>
    }

    /// One line of `/proc/self/cgroup`.
    struct Membership: Sendable, Equatable {
        /// The hierarchy id (0 for v2).
        var hierarchy: Int
        /// The controllers of a v1 hierarchy (empty for v2).
        var controllers: [String]
        /// Our group's path in that hierarchy.
        var path: String
    }

    /// Reads this process's cgroup files; the v2 controllers come from our group's `cgroup.controllers`.
    static func current() throws(CgroupError) -> CgroupDiscovery {
        let mountInfo = try CgroupFiles.readText("/proc/self/mountinfo", operation: .discover)
        let memberships = try CgroupFiles.readText("/proc/self/cgroup", operation: .discover)
        return resolve(mounts: parseMountInfo(mountInfo), memberships: parseMemberships(memberships)) { directory in
            let path = directory + "/cgroup.controllers"
            guard let text = try? CgroupFiles.readText(path, operation: .discover) else { return nil }
            return Set(text.split(whereSeparator: \.isWhitespace).map(String.init))
        }
    }

    /// Joins memberships to mounts. `v2Controllers` reads a v2 group's `cgroup.controllers` (nil: unreadable).
    static func resolve(mounts: [Mount], memberships: [Membership], v2Controllers: (String) -> Set<String>?) -> CgroupDiscovery {
        var result = CgroupDiscovery(legacy: [], unified: nil, problems: [])
        for membership in memberships {
            if membership.hierarchy == 0 && membership.controllers.isEmpty {
                let candidates = mounts.filter { $0.version == .v2 }
                guard let (mount, directory) = visible(membership.path, in: candidates) else {
                    if !candidates.isEmpty {
                        result.problems.append("cgroup2 is mounted, but our group \(membership.path) is not visible under any of its mounts")
                    }
                    continue
                }
                guard let controllers = v2Controllers(directory) else {
                    result.problems.append("cannot read \(directory)/cgroup.controllers")
                    continue
                }
                result.unified = CgroupHierarchy(version: .v2, mountPoint: mount.mountPoint, mountRoot: mount.root, controllers: controllers, ownDirectory: directory)
                continue
            }
            let wanted = Set(membership.controllers).intersection(legacyControllers)
            if wanted.isEmpty { continue }
            let candidates = mounts.filter { $0.version == .v1 && wanted.isSubset(of: $0.options) }
            guard let (mount, directory) = visible(membership.path, in: candidates) else {
                result.problems.append("the v1 hierarchy of \(wanted.sorted().joined(separator: ",")) "
                    + (candidates.isEmpty ? "is not mounted" : "does not show our group \(membership.path)"))
                continue
            }
            result.legacy.append(CgroupHierarchy(version: .v1, mountPoint: mount.mountPoint, mountRoot: mount.root, controllers: wanted, ownDirectory: directory))
        }
        return result
    }

    /// The first mount under which `path` is visible, and the directory it has there.
    static func visible(_ path: String, in mounts: [Mount]) -> (Mount, String)? {
        if path.hasSuffix(" (deleted)") { return nil }
        for mount in mounts {
            if mount.root == "/" { return (mount, mount.mountPoint + (path == "/" ? "" : path)) }
            if path == mount.root { return (mount, mount.mountPoint) }
            if path.hasPrefix(mount.root + "/") { return (mount, mount.mountPoint + path.dropFirst(mount.root.count)) }
        }
        return nil
    }

    /// Parses `/proc/self/mountinfo`, keeping the cgroup and cgroup2 mounts.
    static func parseMountInfo(_ text: String) -> [Mount] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let separator = fields.firstIndex(of: "-"), separator >= 6, fields.count >= separator + 4 else { return nil }
            let type = fields[separator + 1]
            let version: CgroupVersion
            switch type {
            case "cgroup": version = .v1
            case "cgroup2": version = .v2
            default: return nil
            }
            let options = Set(fields[separator + 3].split(separator: ",").map(String.init))
            return Mount(version: version, mountPoint: unescape(fields[4]), root: unescape(fields[3]), options: options)
        }
    }

    /// Parses `/proc/self/cgroup`: `id:controllers:path` per line.
    static func parseMemberships(_ text: String) -> [Membership] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let id = Int(parts[0]) else { return nil }
            let controllers = parts[1].split(separator: ",").map(String.init)
            return Membership(hierarchy: id, controllers: controllers, path: String(parts[2]))
        }
    }

    /// mountinfo escapes space, tab, newline and backslash as `\ooo`.
    private static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var index = field.utf8.startIndex
        let utf8 = field.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            let digits = utf8[utf8.index(after: index)...].prefix(3)
            if byte == UInt8(ascii: "\\"), digits.count == 3, let value = UInt8(String(decoding: digits, as: UTF8.self), radix: 8) {
                bytes.append(value)
                index = utf8.index(index, offsetBy: 4)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
