/// A plugin library that cannot be used, with what the operator needs to act: the path, and
/// both sides of whatever did not match (digests, fingerprints).
public struct PluginLibraryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case unreadable, notARegularFile, tooLarge, malformedDigest, digestMismatch, changedWhileCopying
            case copyFailed, notAPluginLibrary, incompatible, tooMany, duplicate
        }

        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// The file cannot be opened or read.
        public static let unreadable = Reason(.unreadable)
        /// The path names a directory, a device or another non-regular file.
        public static let notARegularFile = Reason(.notARegularFile)
        /// The file is larger than ``PluginLibraryStore/maximumSize``.
        public static let tooLarge = Reason(.tooLarge)
        /// The pinned digest is not 64 hexadecimal digits.
        public static let malformedDigest = Reason(.malformedDigest)
        /// The bytes' SHA-256 is not the pinned one (``PluginLibraryError/expected`` is the pin,
        /// ``PluginLibraryError/actual`` the digest of the bytes read).
        public static let digestMismatch = Reason(.digestMismatch)
        /// The file changed while it was being copied.
        public static let changedWhileCopying = Reason(.changedWhileCopying)
        /// The sealed copy could not be made.
        public static let copyFailed = Reason(.copyFailed)
        /// The file is not a plugin library: not an ELF shared object, or without the PluginSandbox
        /// note its `PluginLibrary` module puts there.
        public static let notAPluginLibrary = Reason(.notAPluginLibrary)
        /// The library was built for another release, protocol, architecture or toolchain
        /// (``PluginLibraryError/expected`` is this host's fingerprint, ``PluginLibraryError/actual``
        /// the library's).
        public static let incompatible = Reason(.incompatible)
        /// More libraries than a worker takes.
        public static let tooMany = Reason(.tooMany)
        /// The same library (by digest) named twice for one session.
        public static let duplicate = Reason(.duplicate)

        /// The reason's name.
        public var description: String { kind.rawValue }
    }

    /// What was wrong.
    public let reason: Reason
    /// The library's path, as the operator gave it.
    public let path: String
    /// What was required: the pinned digest, or this host's fingerprint.
    public let expected: String?
    /// What was found: the digest of the bytes read, or the library's fingerprint.
    public let actual: String?
    /// The particulars, in words.
    public let detail: String

    /// Creates an error.
    public init(_ reason: Reason, path: String, expected: String? = nil, actual: String? = nil, detail: String) {
        self.reason = reason
        self.path = path
        self.expected = expected
        self.actual = actual
        self.detail = detail
    }

    public var description: String {
        switch reason {
        case .digestMismatch:
            return "plugin library \(path) has SHA-256 \(actual ?? "?"), not the pinned \(expected ?? "?"); it is not loaded"
        case .incompatible:
            return "plugin library \(path) was built for \(actual ?? "?"), but this host is \(expected ?? "?"); rebuild it against this release"
        default:
            return "plugin library \(path): \(detail)"
        }
    }
}
