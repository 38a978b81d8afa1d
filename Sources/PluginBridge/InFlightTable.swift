import PluginWire
import Synchronization

/// The calls a session's side is running now: cancellable by id, and the oldest one named in a
/// worker's heartbeat answers, so a handler that hangs is reported by name.
///
/// In a worker, read by the socket reader thread (heartbeats) and written on the executor thread.
public final class InFlightTable: Sendable {
    private struct Entry {
        let what: String
        let started: ContinuousClock.Instant
        let task: TaskHandle?
    }

    /// The running call's task, for cancelling it.
    private struct TaskHandle: @unchecked Sendable {
        // @unchecked: the handle is only used while its entry exists, which is while the task runs
        // `body` (the entry is removed before `running` returns), and `cancel()` is thread-safe.
        let task: UnsafeCurrentTask
    }

    private let entries = Mutex<[UInt64: Entry]>([:])

    /// An empty table.
    public init() {}

    /// Runs `body` as call `id` (`what`: the event or request name): visible to heartbeats and
    /// cancellable through ``cancel(_:)`` until it returns.
    public func running(_ id: UInt64, what: String, _ body: () async -> Void) async {
        withUnsafeCurrentTask { task in
            // The task handle is only used while the entry exists, which is while `body` runs.
            let handle = task.map(TaskHandle.init)
            entries.withLock { $0[id] = Entry(what: what, started: .now, task: handle) }
        }
        defer { _ = entries.withLock { $0.removeValue(forKey: id) } }
        await body()
    }

    /// Cancels call `id` if it is still running (on the executor thread, so the call cannot end
    /// while it is being cancelled).
    public func cancel(_ id: UInt64) {
        entries.withLock { $0[id]?.task?.task.cancel() }
    }

    /// The longest-running call, as a heartbeat answer reports it.
    public func busiest(now: ContinuousClock.Instant = .now) -> BusyHandler? {
        entries.withLock { entries in
            guard let oldest = entries.values.min(by: { $0.started < $1.started }) else { return nil }
            let (seconds, attoseconds) = (now - oldest.started).components
            return BusyHandler(event: oldest.what, plugin: nil,
                               sinceMilliseconds: Int(seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        }
    }
}
