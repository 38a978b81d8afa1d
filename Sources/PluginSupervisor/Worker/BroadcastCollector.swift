import PluginWire
import Synchronization

/// Gathers the replies of one broadcast, one slot per session, from whichever loops serve them,
/// and resumes the broadcaster once every slot is filled.
final class BroadcastCollector: Sendable {
    private struct State {
        var results: [Result<WireMessage, SessionError>?]
        var remaining: Int
        var continuation: CheckedContinuation<[Result<WireMessage, SessionError>], Never>?
    }

    private let state: Mutex<State>

    /// A collector for `count` slots.
    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    /// Fills `slot` (the first result for a slot wins).
    func fill(_ slot: Int, with result: Result<WireMessage, SessionError>) {
        let done = state.withLock { state -> (CheckedContinuation<[Result<WireMessage, SessionError>], Never>, [Result<WireMessage, SessionError>])? in
            guard state.results[slot] == nil else { return nil }
            state.results[slot] = result
            state.remaining -= 1
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.results.map { $0! })
        }
        if let (continuation, results) = done { continuation.resume(returning: results) }
    }

    /// Waits for every slot; `send` starts the deliveries once the waiter is in place.
    func collect(after send: () -> Void) async -> [Result<WireMessage, SessionError>] {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [Result<WireMessage, SessionError>]? in
                if state.remaining == 0 { return state.results.map { $0! } }
                state.continuation = continuation
                return nil
            }
            if let ready { return continuation.resume(returning: ready) }
            send()
        }
    }
}
