import CConfinementCalls
import PluginSystem
import SystemPackage

/// The sandbox's confinement system calls (`CConfinementCalls`), each through the one retrying
/// wrapper of `PluginSystem`.
enum ConfinementCalls {
    /// A namespace a profile can ask for.
    struct Namespaces: OptionSet {
        let rawValue: Int32
        static let mount = Namespaces(rawValue: PSC_NAMESPACE_MOUNT)
        static let uts = Namespaces(rawValue: PSC_NAMESPACE_UTS)
        static let ipc = Namespaces(rawValue: PSC_NAMESPACE_IPC)
        static let user = Namespaces(rawValue: PSC_NAMESPACE_USER)
        static let net = Namespaces(rawValue: PSC_NAMESPACE_NET)
    }

    static func unshare(_ namespaces: Namespaces) throws(SystemCallError) {
        _ = try systemCall("unshare") { psc_unshare(namespaces.rawValue) }
    }

    static func setHostname(_ name: String) throws(SystemCallError) {
        _ = try systemCall("sethostname") { psc_set_hostname(name) }
    }

    static func makeMountsPrivate() throws(SystemCallError) {
        _ = try systemCall("mount(/, MS_REC | MS_PRIVATE)") { psc_make_mounts_private() }
    }

    static func mountTemporaryFilesystem(at target: String, options: String) throws(SystemCallError) {
        _ = try systemCall("mount(tmpfs, \(target))") { psc_mount_tmpfs(target, options) }
    }

    static func mountProcess(at target: String, options: String) throws(SystemCallError) {
        _ = try systemCall("mount(proc, \(target), \(options))") { psc_mount_proc(target, options) }
    }

    static func bindReadOnly(_ source: FileDescriptor, at target: String, device: Bool) throws(SystemCallError) {
        _ = try systemCall("mount(MS_BIND, \(target))") { psc_bind_read_only(source.rawValue, target, device ? 1 : 0) }
    }

    static func remountReadOnly(_ target: String) throws(SystemCallError) {
        _ = try systemCall("mount(MS_REMOUNT | MS_RDONLY, \(target))") { psc_remount_read_only(target) }
    }

    static func pivot(into directory: String) throws(SystemCallError) {
        _ = try systemCall("pivot_root(\(directory))") { psc_pivot_into(directory) }
    }

    static func makeDirectory(_ path: String) throws(SystemCallError) {
        _ = try systemCall("mkdir(\(path))") { psc_make_directory(path, 0o755) }
    }

    static func makeFile(_ path: String) throws(SystemCallError) {
        _ = try systemCall("open(\(path), O_CREAT)") { psc_make_file(path) }
    }

    static func makeSymlink(_ path: String, pointingTo target: String) throws(SystemCallError) {
        _ = try systemCall("symlink(\(path))") { psc_make_symlink(target, path) }
    }

    static func openPath(_ path: String) throws(SystemCallError) -> FileDescriptor {
        FileDescriptor(rawValue: try systemCall("open(\(path), O_PATH)") { psc_open_path(path) })
    }

    static func isSymlink(_ path: String) throws(SystemCallError) -> Bool {
        try systemCall("lstat(\(path))") { psc_is_symlink(path) } == 1
    }

    static func isDirectory(_ descriptor: FileDescriptor) throws(SystemCallError) -> Bool {
        try systemCall("fstat") { psc_is_directory(descriptor.rawValue) } == 1
    }

    /// The target of the symbolic link `path`.
    static func readLink(_ path: String) throws(SystemCallError) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = try systemCall("readlink(\(path))") { psc_read_link(path, &buffer, Int32(buffer.count)) }
        return String(decoding: buffer[0..<Int(count)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func landlockABI() -> Int { Int(psc_landlock_abi()) }

    static func landlockRuleset(abi: Int) throws(SystemCallError) -> FileDescriptor {
        FileDescriptor(rawValue: try systemCall("landlock_create_ruleset") { psc_landlock_create_ruleset(Int32(abi)) })
    }

    static func landlockAllow(_ ruleset: FileDescriptor, abi: Int, beneath path: FileDescriptor, writable: Bool) throws(SystemCallError) {
        let access = writable ? PSC_LANDLOCK_READ_WRITE_FILE : PSC_LANDLOCK_READ
        _ = try systemCall("landlock_add_rule") { psc_landlock_allow(ruleset.rawValue, Int32(abi), path.rawValue, access) }
    }

    static var seccompNotifySupported: Bool { psc_seccomp_notify_supported() == 1 }
}
