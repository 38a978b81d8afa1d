import PluginWire
import Synchronization

/// The calls one side of a session has sent and waits to hear back about, by correlation id:
/// a worker's `globalBus` calls to the supervisor, a worker's calls into a plugin library's
/// scope, a plugin library's `globalBus` calls to its worker.
///
/// Each side numbers its own calls from 1. A reply for an id nobody waits for (late, cancelled,
/// or made up) is refused by ``complete(id:with:)``; ``close(reason:)`` fails every waiting call
/// and every later one.
public final class PendingReplies: Sendable {
    /// What a call comes back with.
    public typealias Reply = Result<WireMessage, WireFailure>

    private struct State {
        var pending: [UInt64: CheckedContinuation<Reply, Never>] = [:]
        var nextID: UInt64 = 1
        var closed: String?
    }

    private let state = Mutex(State())

    /// An empty table.
    public init() {}

    /// Sends `make(id)` and waits for the reply with that id.
    ///
    /// The message is encoded with `encode` before it is registered (a message that cannot be
    /// encoded fails the call, and nothing is sent); `send` returning false fails the call at once.
    /// With `cancel`, cancelling the calling task fails the call with `cancelled` and calls
    /// `cancel(id)` so the other side can stop; without it the call waits for its reply.
    public func call<Encoded>(
        _ make: (UInt64) -> WireMessage,
        encode: (WireMessage) -> Result<Encoded, WireFailure>,
        send: (Encoded) -> Bool,
        cancel: (@Sendable (UInt64) -> Void)? = nil
    ) async -> Reply {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let encoded: Encoded
        switch encode(make(id)) {
        case .success(let value): encoded = value
        case .failure(let failure): return .failure(failure)
        }
        func wait() async -> Reply {
            await withCheckedContinuation { (continuation: CheckedContinuation<Reply, Never>) in
                let closed: String? = self.state.withLock { state in
                    if let closed = state.closed { return closed }
                    state.pending[id] = continuation
                    return nil
                }
                if let closed {
                    continuation.resume(returning: .failure(WireFailure(code: .sessionDead, message: closed)))
                } else if !send(encoded) {
                    self.state.withLock { $0.pending.removeValue(forKey: id) }?
                        .resume(returning: .failure(WireFailure(code: .sessionDead, message: "the channel is closed")))
                }
            }
        }
        guard let cancel else { return await wait() }
        return await withTaskCancellationHandler(operation: { await wait() }) {
            guard let waiting = self.state.withLock({ $0.pending.removeValue(forKey: id) }) else { return }
            waiting.resume(returning: .failure(WireFailure(code: .cancelled, message: "cancelled")))
            cancel(id)
        }
    }

    /// Resumes the call waiting for `id` with `message`; false when none waits.
    @discardableResult
    public func complete(id: UInt64, with message: WireMessage) -> Bool {
        guard let continuation = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return false }
        continuation.resume(returning: .success(message))
        return true
    }

    /// Fails every waiting call, and every later one, with `sessionDead` and `reason`.
    public func close(reason: String) {
        let waiting = state.withLock { state -> [CheckedContinuation<Reply, Never>] in
            if state.closed == nil { state.closed = reason }
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        for continuation in waiting {
            continuation.resume(returning: .failure(WireFailure(code: .sessionDead, message: reason)))
        }
    }
}

/// A side of a session channel that sends messages and calls the other side: what
/// ``WireGlobalBus`` and ``WireLogHandler`` need from a worker's socket or a plugin library's link.
public protocol WireChannel: Sendable {
    /// Sends one message; false when it could not be sent.
    @discardableResult
    func send(_ message: WireMessage) -> Bool
    /// Sends `make(id)` and waits for the other side's reply with that id.
    func call(_ make: (UInt64) -> WireMessage) async -> PendingReplies.Reply
}
