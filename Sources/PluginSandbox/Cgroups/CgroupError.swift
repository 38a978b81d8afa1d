import SystemPackage

/// A cgroup operation that failed: what was attempted, on which path, and the errno it left.
public struct CgroupError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was attempted.
    public struct Operation: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case discover, createGroup, removeGroup, open, read, write, parse, kill, notEngaged, closed
        }

        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// Reading `/proc/self/cgroup`, `/proc/self/mountinfo` or a `cgroup.controllers` file.
        public static let discover = Operation(.discover)
        /// `mkdir` of a group.
        public static let createGroup = Operation(.createGroup)
        /// `rmdir` of a group (EBUSY: processes were still in it after the retries).
        public static let removeGroup = Operation(.removeGroup)
        /// Opening a control file.
        public static let open = Operation(.open)
        /// Reading a control file.
        public static let read = Operation(.read)
        /// Writing a control file (a limit, a join, `cgroup.kill`, `cgroup.subtree_control`).
        public static let write = Operation(.write)
        /// A control file whose content is not what the kernel documents.
        public static let parse = Operation(.parse)
        /// Signalling a process left in a group.
        public static let kill = Operation(.kill)
        /// A limit or reading for a controller this machine cannot engage.
        public static let notEngaged = Operation(.notEngaged)
        /// Using a group after `destroy()` or a controller after `shutdown()`.
        public static let closed = Operation(.closed)

        /// The operation's name, e.g. `write`.
        public var description: String { kind.rawValue }
    }

    /// What was attempted.
    public let operation: Operation
    /// The directory or control file, e.g. `/sys/fs/cgroup/memory/pluginsandbox-41/w3/memory.limit_in_bytes`.
    public let path: String
    /// The errno, when a system call failed.
    public let errno: Errno?
    /// More: the value written, the content that did not parse, why a controller is missing.
    public let detail: String

    /// Creates an error.
    public init(_ operation: Operation, path: String, errno: Errno? = nil, detail: String = "") {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        var text = "cgroup \(operation) \(path)"
        if let errno { text += " failed: \(errno) (errno \(errno.rawValue))" }
        if !detail.isEmpty { text += errno == nil ? ": \(detail)" : " (\(detail))" }
        return text
    }
}
