import Synchronization

/// A rotating range of unprivileged uid/gid pairs, one per worker, for supervisors running as root.
public final class WorkerIdentityPool: Sendable {
    /// The pool `WorkerSpawner` draws from when a root supervisor's request names no identity:
    /// uids (and equal gids) 200000..<265536, handed out in turn and reused after wrapping.
    public static let shared = WorkerIdentityPool(range: 200_000..<265_536)

    /// The uids (and gids) this pool hands out.
    public let range: Range<UInt32>
    private let cursor = Atomic<UInt32>(0)

    /// Creates a pool over `range`, which must not be empty.
    public init(range: Range<UInt32>) {
        precondition(!range.isEmpty, "an identity pool needs at least one id")
        self.range = range
    }

    /// The next identity in the range (uid == gid).
    public func next() -> WorkerIdentity {
        let offset = cursor.wrappingAdd(1, ordering: .relaxed).oldValue % UInt32(range.count)
        let id = range.lowerBound + offset
        return WorkerIdentity(uid: id, gid: id)
    }
}
