import Synchronization

/// One emitted event on its way through the handlers: the payload (which handlers may replace;
/// later handlers see the change), the identifier it was emitted with, where it came from, and
/// whether a handler stopped the cascade.
///
/// After the cascade the envelope also says how many handlers ran (``handlerCount``: zero means
/// nobody took the event) and whether any of them replaced the payload (``isPayloadReplaced``).
///
/// `@unchecked Sendable`: `current`, `replaced` and `count` are read and written only while
/// holding `lock`, and `stopped` is atomic. (A `Mutex` over a struct of these would be generic in
/// `Event`, and every access would pay a runtime metadata lookup on the emit path.)
public final class EventEnvelope<Event: Sendable>: @unchecked Sendable {
    private let lock = Mutex(())
    private var current: Event
    private var replaced: Bool
    private var count: Int
    private let stopped: Atomic<Bool>
    /// The identifier the event was emitted with, if any.
    public let identifier: String?
    /// Where the event came from, as the bus saw it.
    public let origin: EventOrigin

    /// An envelope around `payload`, as a bus or a host that rebuilds a remote cascade's outcome creates it.
    public init(payload: Event, identifier: String? = nil, origin: EventOrigin = .global, stopped: Bool = false,
                handlerCount: Int = 0, isPayloadReplaced: Bool = false) {
        self.current = payload
        self.replaced = isPayloadReplaced
        self.count = handlerCount
        self.stopped = Atomic(stopped)
        self.identifier = identifier
        self.origin = origin
    }

    /// The current payload. Assigning it marks the payload replaced.
    public var payload: Event {
        get { lock.withLock { _ in current } }
        set {
            lock.withLock { _ in
                current = newValue
                replaced = true
            }
        }
    }

    /// Whether a handler stopped the cascade.
    public var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Whether a handler assigned ``payload`` or stopped with a value: when false, the final
    /// payload is the emitted value itself, and a process bridge need not encode it again.
    public var isPayloadReplaced: Bool { lock.withLock { _ in replaced } }

    /// How many handlers ran for this emit (`bind` observers are not counted); set when the
    /// cascade ends. Zero means nobody took the event.
    public var handlerCount: Int { lock.withLock { _ in count } }

    /// Ends the cascade; with a value, that value becomes the final payload.
    public func stop(_ value: Event? = nil) {
        if let value {
            lock.withLock { _ in
                current = value
                replaced = true
            }
        }
        stopped.store(true, ordering: .releasing)
    }

    func recordHandlers(_ handlers: Int) {
        lock.withLock { _ in count = handlers }
    }
}
