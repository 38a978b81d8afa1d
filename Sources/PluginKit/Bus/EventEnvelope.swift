import Synchronization

/// One emitted event on its way through the handlers: the payload (which handlers may replace;
/// later handlers see the change), the identifier it was emitted with, where it came from, and
/// whether a handler stopped the cascade.
///
/// After the cascade the envelope also says how many handlers ran (``handlerCount``: zero means
/// nobody took the event) and whether any of them replaced the payload (``isPayloadReplaced``).
public final class EventEnvelope<Event: Sendable>: Sendable {
    private struct State {
        var payload: Event
        var replaced: Bool
        var handlerCount: Int
    }

    private let state: Mutex<State>
    private let stopped: Atomic<Bool>
    /// The identifier the event was emitted with, if any.
    public let identifier: String?
    /// Where the event came from, as the bus saw it.
    public let origin: EventOrigin

    /// An envelope around `payload`, as a bus or a host that rebuilds a remote cascade's outcome creates it.
    public init(payload: Event, identifier: String? = nil, origin: EventOrigin = .global, stopped: Bool = false,
                handlerCount: Int = 0, isPayloadReplaced: Bool = false) {
        self.state = Mutex(State(payload: payload, replaced: isPayloadReplaced, handlerCount: handlerCount))
        self.stopped = Atomic(stopped)
        self.identifier = identifier
        self.origin = origin
    }

    /// The current payload. Assigning it marks the payload replaced.
    public var payload: Event {
        get { state.withLock { $0.payload } }
        set {
            state.withLock { state in
                state.payload = newValue
                state.replaced = true
            }
        }
    }

    /// Whether a handler stopped the cascade.
    public var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Whether a handler assigned ``payload`` or stopped with a value: when false, the final
    /// payload is the emitted value itself, and a process bridge need not encode it again.
    public var isPayloadReplaced: Bool { state.withLock { $0.replaced } }

    /// How many handlers ran for this emit (`bind` observers are not counted); set when the
    /// cascade ends. Zero means nobody took the event.
    public var handlerCount: Int { state.withLock { $0.handlerCount } }

    /// Ends the cascade; with a value, that value becomes the final payload.
    public func stop(_ value: Event? = nil) {
        if let value {
            state.withLock { state in
                state.payload = value
                state.replaced = true
            }
        }
        stopped.store(true, ordering: .releasing)
    }

    func recordHandlers(_ count: Int) {
        state.withLock { $0.handlerCount = count }
    }
}
