/// How a worker process is created: forked from the zygote, or executed afresh.
public struct SpawnMode: Sendable, Hashable, CustomStringConvertible {
    private enum Kind: String, Sendable, Hashable {
        case zygote
        case exec
    }

    private let kind: Kind

    private init(_ kind: Kind) {
        self.kind = kind
    }

    /// Forked (CLONE_PARENT) from the single-threaded zygote started by `WorkerBootstrap.start`.
    public static let zygote = SpawnMode(.zygote)
    /// `posix_spawn` of the host executable with the hidden worker argument.
    public static let exec = SpawnMode(.exec)

    /// The mode's name: "zygote" or "exec".
    public var description: String { kind.rawValue }

    /// The mode with the given name, or nil when there is none.
    public init?(name: String) {
        guard let kind = Kind(rawValue: name) else { return nil }
        self.kind = kind
    }
}
