/// A plugin library as an operator names it: the path of a shared object built against this
/// package's `PluginLibrary` module, and, optionally, the SHA-256 its bytes must have.
///
/// Without a pin, the supervisor computes the digest when a session is created and every worker
/// of the session maps exactly those bytes; with one, a file whose bytes differ is refused.
public struct PluginLibraryReference: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The library's path, as given (resolved against the supervisor's working directory).
    public var path: String
    /// The SHA-256 of the library's bytes, 64 hexadecimal digits, or nil to take the file as it is
    /// when the session is created.
    public var sha256: String?

    /// A reference to the library at `path`, pinned to `sha256` when given.
    public init(path: String, sha256: String? = nil) {
        self.path = path
        self.sha256 = sha256
    }

    /// Parses the command-line form: `PATH`, or `PATH@sha256:HEX` to pin the digest.
    public init(argument: String) {
        let marker = "@sha256:"
        if let range = argument.range(of: marker, options: .backwards), !argument[..<range.lowerBound].isEmpty {
            self.init(path: String(argument[..<range.lowerBound]), sha256: String(argument[range.upperBound...]))
        } else {
            self.init(path: argument)
        }
    }

    /// `PATH` or `PATH@sha256:HEX`.
    public var description: String { sha256.map { "\(path)@sha256:\($0)" } ?? path }
}
