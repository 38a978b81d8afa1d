import Foundation
import ServiceLifecycle
import Synchronization

/// One lifecycle change as `sandboxctl events` shows it: when, which session, what happened.
public struct LifecycleRecord: Sendable, Codable, Equatable {
    /// What happened: `started`, `crashed`, `restarted` or `ended`.
    public var event: String
    /// When the journal received it.
    public var time: Date
    /// The session concerned.
    public var session: String
    /// The worker's pid (`started`).
    public var pid: Int32?
    /// Why the worker ended (`crashed`, `ended`).
    public var cause: ExitCause?
    /// Whether the restart policy brings the session back (`crashed`).
    public var willRestart: Bool?
    /// The restart number within the policy's window (`restarted`).
    public var attempt: Int?

    /// The record of `change`, received at `time`.
    public init(_ change: SessionLifecycle, time: Date = Date()) {
        self.time = time
        self.session = change.sessionID
        switch change {
        case .started(_, let pid):
            event = "started"
            self.pid = pid
        case .crashed(_, let cause, let willRestart):
            event = "crashed"
            self.cause = cause
            self.willRestart = willRestart
        case .restarted(_, let attempt):
            event = "restarted"
            self.attempt = attempt
        case .ended(_, let cause):
            event = "ended"
            self.cause = cause
        }
    }
}

/// The bounded history of a host's lifecycle changes, with live followers: what
/// `sandboxctl events [--follow]` reads.
///
/// It subscribes to ``SandboxedSessionHost/lifecycleChanges()`` when created, so no change made
/// after that is missed, and records them while it runs as a service (until graceful shutdown).
public final class LifecycleJournal: Service, Sendable {
    private struct State {
        var records: [LifecycleRecord] = []
        var followers: [Int: AsyncStream<LifecycleRecord>.Continuation] = [:]
        var nextFollower = 0
        var finished = false
    }

    /// The most records kept; older ones are dropped first.
    public let capacity: Int
    private let changes: AsyncStream<SessionLifecycle>
    private let state = Mutex(State())

    /// A journal of `host`'s changes from now on, keeping at most `capacity` records.
    public init(host: SandboxedSessionHost, capacity: Int = 1000) {
        self.capacity = max(1, capacity)
        self.changes = host.lifecycleChanges()
    }

    /// Records every change until graceful shutdown or until the host stops publishing.
    public func run() async {
        for await change in changes.cancelOnGracefulShutdown() {
            record(LifecycleRecord(change))
        }
        let followers = state.withLock { state -> [AsyncStream<LifecycleRecord>.Continuation] in
            state.finished = true
            defer { state.followers.removeAll() }
            return Array(state.followers.values)
        }
        for follower in followers { follower.finish() }
    }

    /// Appends `record` and hands it to the followers.
    func record(_ record: LifecycleRecord) {
        let followers = state.withLock { state -> [AsyncStream<LifecycleRecord>.Continuation] in
            state.records.append(record)
            if state.records.count > capacity { state.records.removeFirst(state.records.count - capacity) }
            return Array(state.followers.values)
        }
        for follower in followers { follower.yield(record) }
    }

    /// The records kept, oldest first.
    public var records: [LifecycleRecord] { state.withLock { $0.records } }

    /// The records kept, then every new one, atomically (none missed, none twice); the stream
    /// finishes when the journal stops.
    public func follow() -> (past: [LifecycleRecord], future: AsyncStream<LifecycleRecord>) {
        let (stream, continuation) = AsyncStream<LifecycleRecord>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let (past, key) = state.withLock { state -> ([LifecycleRecord], Int?) in
            guard !state.finished else { return (state.records, nil) }
            state.nextFollower += 1
            state.followers[state.nextFollower] = continuation
            return (state.records, state.nextFollower)
        }
        guard let key else {
            continuation.finish()
            return (past, stream)
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.followers.removeValue(forKey: key) }
        }
        return (past, stream)
    }
}
