import Synchronization

/// Correlation ids for calls into workers, unique across every worker of this supervisor, so a
/// broadcast can send one encoded frame (one id) to every session.
enum CorrelationID {
    private static let counter = Atomic<UInt64>(1)

    /// The next id.
    static func next() -> UInt64 {
        counter.wrappingAdd(1, ordering: .relaxed).oldValue
    }
}
