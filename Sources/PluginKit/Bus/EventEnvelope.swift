import Synchronization

/// One emitted event on its way through the handlers: the payload (which handlers may replace;
/// later handlers see the change), the identifier it was emitted with, and whether a handler
/// stopped the cascade.
public final class EventEnvelope<Event: Sendable>: Sendable {
    private struct State {
        var payload: Event
        var stopped: Bool
    }

    private let state: Mutex<State>
    /// The identifier the event was emitted with, if any.
    public let identifier: String?

    /// An envelope around `payload`.
    public init(payload: Event, identifier: String? = nil, stopped: Bool = false) {
        self.state = Mutex(State(payload: payload, stopped: stopped))
        self.identifier = identifier
    }

    /// The current payload.
    public var payload: Event {
        get { state.withLock { $0.payload } }
        set { state.withLock { $0.payload = newValue } }
    }

    /// Whether a handler stopped the cascade.
    public var isStopped: Bool { state.withLock { $0.stopped } }

    /// Ends the cascade; with a value, that value becomes the final payload.
    public func stop(_ value: Event? = nil) {
        state.withLock { state in
            if let value { state.payload = value }
            state.stopped = true
        }
    }
}

/// The final state of an emit whose payload is JSON, as a process bridge sees it.
public struct EncodedEnvelope: Sendable, Equatable {
    /// The final payload, UTF-8 JSON.
    public var payload: Data
    /// Whether a handler stopped the cascade.
    public var stopped: Bool

    /// Creates an envelope.
    public init(payload: Data, stopped: Bool) {
        self.payload = payload
        self.stopped = stopped
    }
}

import struct Foundation.Data
