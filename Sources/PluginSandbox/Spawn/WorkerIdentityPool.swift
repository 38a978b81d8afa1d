import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A range of unprivileged uid/gid pairs, one per live worker, for supervisors running as root.
///
/// A uid is leased to one worker and comes back only when that worker has been reaped (its
/// ``ProcessHandle`` releases the lease), so no two live workers ever share a uid, however many
/// have come and gone.
public final class WorkerIdentityPool: Sendable {
    /// The pool `WorkerSpawner` draws from when a root supervisor's request names no identity:
    /// uids (and equal gids) 200000..<265536.
    public static let shared = WorkerIdentityPool(range: 200_000..<265_536)

    private struct State {
        var held: Set<UInt32> = []
        var cursor: UInt32 = 0
    }

    /// The uids (and gids) this pool hands out.
    public let range: Range<UInt32>
    private let state = Mutex(State())

    /// Creates a pool over `range`, which must not be empty.
    public init(range: Range<UInt32>) {
        precondition(!range.isEmpty, "an identity pool needs at least one id")
        self.range = range
    }

    /// Leases the next identity no live worker holds (uid == gid), searching on from the last one
    /// handed out. Throws ``SpawnError/Step/identityExhausted`` when every id is held.
    public func lease() throws(SpawnError) -> WorkerIdentityLease {
        let id: UInt32? = state.withLock { state in
            let size = UInt32(range.count)
            for step in 0..<size {
                let offset = (state.cursor &+ step) % size
                let candidate = range.lowerBound + offset
                if state.held.insert(candidate).inserted {
                    state.cursor = (offset + 1) % size
                    return candidate
                }
            }
            return nil
        }
        guard let id else {
            throw SpawnError(step: .identityExhausted, errno: EAGAIN,
                             detail: "all \(range.count) worker uids \(range.lowerBound)..<\(range.upperBound) are held by live workers")
        }
        return WorkerIdentityLease(identity: WorkerIdentity(uid: id, gid: id), pool: self)
    }

    /// Returns `identity` to the pool (a lease's ``WorkerIdentityLease/release()`` calls this).
    public func release(_ identity: WorkerIdentity) {
        _ = state.withLock { $0.held.remove(identity.uid) }
    }

    /// How many identities are leased now.
    public var leasedCount: Int { state.withLock { $0.held.count } }
}

/// One identity leased from a ``WorkerIdentityPool``; released once (further calls do nothing).
public final class WorkerIdentityLease: Sendable {
    /// The leased uid and gid.
    public let identity: WorkerIdentity
    private let pool: WorkerIdentityPool
    private let released = Atomic<Bool>(false)

    init(identity: WorkerIdentity, pool: WorkerIdentityPool) {
        self.identity = identity
        self.pool = pool
    }

    /// Returns the identity to its pool. Call only when no process holds it any more.
    public func release() {
        if released.exchange(true, ordering: .acquiringAndReleasing) { return }
        pool.release(identity)
    }
}
