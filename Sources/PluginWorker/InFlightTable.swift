import PluginWire
import Synchronization

/// The supervisor's calls a worker is running now: cancellable by id, and the oldest one named
/// in heartbeat answers so that a hung handler is reported by name.
final class InFlightTable: Sendable {
    private struct Entry {
        let what: String
        let started: ContinuousClock.Instant
        var task: Task<Void, Never>?
    }

    private let entries = Mutex<[UInt64: Entry]>([:])

    /// Records that call `id` (`what`: the event or request name) has started.
    func begin(_ id: UInt64, what: String) {
        entries.withLock { $0[id] = Entry(what: what, started: .now, task: nil) }
    }

    /// Attaches the task running call `id`, so that a cancel can reach it.
    func attach(_ id: UInt64, task: Task<Void, Never>) {
        let cancelled = entries.withLock { entries -> Bool in
            guard entries[id] != nil else { return true }
            entries[id]?.task = task
            return false
        }
        if cancelled { task.cancel() }
    }

    /// Records that call `id` finished.
    func end(_ id: UInt64) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    /// Cancels call `id` if it is still running.
    func cancel(_ id: UInt64) {
        entries.withLock { $0.removeValue(forKey: id) }?.task?.cancel()
    }

    /// The longest-running call, as a heartbeat answer reports it.
    func busiest(now: ContinuousClock.Instant = .now) -> BusyHandler? {
        entries.withLock { entries in
            guard let oldest = entries.values.min(by: { $0.started < $1.started }) else { return nil }
            let elapsed = now - oldest.started
            let (seconds, attoseconds) = elapsed.components
            return BusyHandler(event: oldest.what, plugin: nil,
                               sinceMilliseconds: Int(seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        }
    }
}
