/// The final state of an emit whose event type is known only as `any WireEvent`, as a process
/// bridge dispatches it.
public struct AnyEnvelope: Sendable {
    /// The final payload.
    public var payload: any WireEvent
    /// Whether a handler stopped the cascade.
    public var isStopped: Bool
    /// How many handlers ran (observers not counted).
    public var handlerCount: Int
    /// Whether a handler replaced the payload; when false, ``payload`` is the emitted value.
    public var isPayloadReplaced: Bool

    /// Creates an envelope.
    public init(payload: any WireEvent, isStopped: Bool, handlerCount: Int, isPayloadReplaced: Bool) {
        self.payload = payload
        self.isStopped = isStopped
        self.handlerCount = handlerCount
        self.isPayloadReplaced = isPayloadReplaced
    }
}

// Entry points for session hosts and process bridges: they set the origin of what they deliver,
// dispatch values whose type they know only at run time, and learn which types are subscribed.
extension EventBus {
    /// Emits `event` as coming from `origin` (a host delivering another scope's traffic).
    @_spi(SessionHost)
    @discardableResult
    public func emit<E: Sendable>(_ event: E, identifier: String?, origin: EventOrigin) async throws -> EventEnvelope<E> {
        try await dispatch(event, identifier: identifier, origin: origin, observed: true)
    }

    /// Sends `request` as coming from `origin`.
    @_spi(SessionHost)
    public func request<Request: Sendable, Response: Sendable>(
        _ request: Request, as response: Response.Type, identifier: String?, origin: EventOrigin
    ) async throws -> Response {
        try await answer(request, as: Response.self, identifier: identifier, origin: origin)
    }

    /// Sends a wire request as coming from `origin`.
    @_spi(SessionHost)
    public func request<R: WireRequest>(_ request: R, identifier: String?, origin: EventOrigin) async throws -> R.Response {
        try await answer(request, as: R.Response.self, identifier: identifier, origin: origin)
    }

    /// Like ``request(_:identifier:origin:)`` with nil for "not wired" and "all conceded".
    @_spi(SessionHost)
    public func maybeRequest<R: WireRequest>(_ request: R, identifier: String?, origin: EventOrigin) async throws -> R.Response? {
        try await Self.nilWhenUnanswered { try await answer(request, as: R.Response.self, identifier: identifier, origin: origin) }
    }

    /// Emits a wire event whose static type is known only at run time (a bridge decoded it by
    /// wire name); the cascade is the one of its dynamic type.
    ///
    /// The argument label keeps a typed `emit(_:identifier:origin:)` from resolving here.
    @_spi(SessionHost)
    public func emit(erased event: any WireEvent, identifier: String?, origin: EventOrigin) async throws -> AnyEnvelope {
        try await emitOpened(event, identifier: identifier, origin: origin)
    }

    /// Sends a wire request whose static type is known only at run time; the answer is its
    /// `Response`, as a value the bridge can encode.
    @_spi(SessionHost)
    public func request(erased request: any WireRequest, identifier: String?, origin: EventOrigin) async throws -> any Encodable & Sendable {
        try await requestOpened(request, identifier: identifier, origin: origin)
    }

    /// Calls `observer` with every event and request type subscribed on this bus: at once for
    /// the types already subscribed, then for each new type at its first subscription. A bridge
    /// builds its wire-name registry from it (request types are reported as the request type).
    @_spi(SessionHost)
    public func observeSubscribedTypes(_ observer: @escaping @Sendable (SubscribedType) -> Void) {
        let known = state.withLock { state -> [SubscribedType] in
            state.typeObservers.append(observer)
            return state.subscribedTypes
        }
        for type in known { observer(type) }
    }

    private func emitOpened<E: WireEvent>(_ event: E, identifier: String?, origin: EventOrigin) async throws -> AnyEnvelope {
        let envelope = try await dispatch(event, identifier: identifier, origin: origin, observed: true)
        return AnyEnvelope(payload: envelope.payload, isStopped: envelope.isStopped, handlerCount: envelope.handlerCount,
                           isPayloadReplaced: envelope.isPayloadReplaced)
    }

    private func requestOpened<R: WireRequest>(_ request: R, identifier: String?, origin: EventOrigin) async throws -> any Encodable & Sendable {
        try await answer(request, as: R.Response.self, identifier: identifier, origin: origin)
    }
}

/// A type subscribed on a bus, as a bridge learns it: wire events and requests come with their
/// wire conformance already known (from the subscription's static type), so no dynamic cast is
/// needed to learn them.
@_spi(SessionHost)
public enum SubscribedType: Sendable {
    /// A wire event type.
    case event(any WireEvent.Type)
    /// A wire request type.
    case request(any WireRequest.Type)
    /// Any other type (it cannot cross a process boundary).
    case other(any Any.Type)

    var identifier: ObjectIdentifier {
        switch self {
        case .event(let type): return ObjectIdentifier(type)
        case .request(let type): return ObjectIdentifier(type)
        case .other(let type): return ObjectIdentifier(type)
        }
    }
}
