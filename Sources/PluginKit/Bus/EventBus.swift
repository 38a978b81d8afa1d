import Synchronization

/// A typed event bus: prioritized handlers form a cascade over one envelope; `bind` observers
/// see every event first; requests are answered by the first handler that does not concede.
///
/// Handlers of equal priority run in registration order, and at equal priority a general
/// handler runs before one scoped to an identifier. Emitting with an identifier reaches the
/// general handlers plus the handlers of exactly that identifier, never another's.
/// Cancelling a subscription, even from inside a running handler, is safe: a cancelled handler
/// is not called again, including later in the cascade that is running.
///
/// A disposed bus throws ``BusDisposed`` from every emit and request; a subscription made on
/// it is returned already cancelled.
public final class EventBus: Sendable {
    /// A handler with its event type erased. The cascade of event type `E` holds only handlers
    /// made by `on(E.self, ...)`, and `dispatch` passes them only `EventEnvelope<E>`.
    typealias EventBody = @Sendable (AnyObject) async throws -> Void
    /// A responder with its request and response types erased (the cascade is keyed by both).
    typealias ResponderBody = @Sendable (any Sendable, RequestContext) async throws -> (any Sendable)?
    typealias ObserverBody = @Sendable (_ event: any Sendable, _ identifier: String?) async -> Void

    /// The responders of a request-response pair.
    struct RequestKey: Hashable, Sendable {
        let request: ObjectIdentifier
        let response: ObjectIdentifier
    }

    struct State {
        var events: [ObjectIdentifier: Cascade<EventBody>] = [:]
        var requests: [RequestKey: Cascade<ResponderBody>] = [:]
        var observers: [Subscriber<ObserverBody>] = []
        var subscribedTypes: [SubscribedType] = []
        var subscribedTypeIDs: Set<ObjectIdentifier> = []
        var typeObservers: [@Sendable (SubscribedType) -> Void] = []
        var nextID: UInt64 = 1
        var disposed = false

        mutating func makeID() -> UInt64 {
            defer { nextID += 1 }
            return nextID
        }
    }

    let state = Mutex(State())
    /// A label for logs and errors (`global`, or the session id).
    public let label: String
    /// The scope this bus serves: the origin its own emits and requests carry.
    public let scope: EventOrigin

    /// An empty bus serving `scope`.
    public init(label: String = "bus", scope: EventOrigin = .global) {
        self.label = label
        self.scope = scope
    }

    // MARK: Subscribing

    /// Calls `handler` for every `E` emitted (with no identifier, or with `identifier` when given).
    @discardableResult
    public func on<E: Sendable>(
        _ type: E.Type,
        priority: Priority = .normal,
        identifier: String? = nil,
        _ handler: @escaping @Sendable (EventEnvelope<E>) async throws -> Void
    ) -> Subscription {
        let envelopeType = EventEnvelope<E>.self
        let body: EventBody = { envelope in try await handler(unsafeDowncast(envelope, to: envelopeType)) }
        return subscribe(.other(E.self), in: \.events, key: ObjectIdentifier(E.self), priority: priority, identifier: identifier, body: body)
    }

    /// Calls `handler` for every wire event `E` emitted (with no identifier, or with `identifier`).
    @discardableResult
    public func on<E: WireEvent>(
        _ type: E.Type,
        priority: Priority = .normal,
        identifier: String? = nil,
        _ handler: @escaping @Sendable (EventEnvelope<E>) async throws -> Void
    ) -> Subscription {
        let envelopeType = EventEnvelope<E>.self
        let body: EventBody = { envelope in try await handler(unsafeDowncast(envelope, to: envelopeType)) }
        return subscribe(.event(E.self), in: \.events, key: ObjectIdentifier(E.self), priority: priority, identifier: identifier, body: body)
    }

    /// Observes every event that is not emitted internally, before any typed handler; cannot stop it.
    @discardableResult
    public func bind(_ observer: @escaping @Sendable (_ event: any Sendable, _ identifier: String?) async -> Void) -> Subscription {
        let subscriber: Subscriber<ObserverBody>? = state.withLock { state in
            guard !state.disposed else { return nil }
            let subscriber = Subscriber<ObserverBody>(id: state.makeID(), priority: .normal, identifier: nil, body: observer)
            state.observers.append(subscriber)
            return subscriber
        }
        guard let subscriber else { return Subscription.cancelled }
        return Subscription { [weak self] in
            subscriber.retire()
            self?.state.withLock { $0.observers.removeAll { $0 === subscriber } }
        }
    }

    /// Answers requests of type `Request` with `Response`; returning nil concedes to the next handler.
    @discardableResult
    public func onRequest<Request: Sendable, Response: Sendable>(
        _ request: Request.Type,
        _ response: Response.Type,
        priority: Priority = .normal,
        identifier: String? = nil,
        _ handler: @escaping @Sendable (Request) async throws -> Response?
    ) -> Subscription {
        onRequest(Request.self, Response.self, priority: priority, identifier: identifier) { request, _ in try await handler(request) }
    }

    /// Answers requests of type `Request` with `Response`, learning where each request came from.
    @discardableResult
    public func onRequest<Request: Sendable, Response: Sendable>(
        _ request: Request.Type,
        _ response: Response.Type,
        priority: Priority = .normal,
        identifier: String? = nil,
        _ handler: @escaping @Sendable (Request, RequestContext) async throws -> Response?
    ) -> Subscription {
        respond(.other(Request.self), Request.self, Response.self, priority: priority, identifier: identifier, handler)
    }

    private func respond<Request: Sendable, Response: Sendable>(
        _ kind: SubscribedType,
        _ request: Request.Type,
        _ response: Response.Type,
        priority: Priority,
        identifier: String?,
        _ handler: @escaping @Sendable (Request, RequestContext) async throws -> Response?
    ) -> Subscription {
        let body: ResponderBody = { request, context in
            guard let request = request as? Request else { return nil }
            return try await handler(request, context)
        }
        return subscribe(kind, in: \.requests, key: Self.key(Request.self, Response.self), priority: priority,
                         identifier: identifier, body: body)
    }

    /// Answers a wire request.
    @discardableResult
    public func onRequest<R: WireRequest>(
        _ request: R.Type,
        priority: Priority = .normal,
        identifier: String? = nil,
        _ handler: @escaping @Sendable (R) async throws -> R.Response?
    ) -> Subscription {
        respond(.request(R.self), R.self, R.Response.self, priority: priority, identifier: identifier) { request, _ in try await handler(request) }
    }

    /// Answers a wire request, learning where each request came from.
    @discardableResult
    public func onRequest<R: WireRequest>(
        _ request: R.Type,
        priority: Priority = .normal,
        identifier: String? = nil,
        _ handler: @escaping @Sendable (R, RequestContext) async throws -> R.Response?
    ) -> Subscription {
        respond(.request(R.self), R.self, R.Response.self, priority: priority, identifier: identifier, handler)
    }

    // MARK: Emitting

    /// Runs `event` through observers and the handler cascade; returns the final envelope.
    /// A handler's error propagates to the emitter and ends the cascade.
    /// - Throws: ``BusDisposed`` once the bus is disposed, or a handler's error.
    @discardableResult
    public func emit<E: Sendable>(_ event: E, identifier: String? = nil) async throws -> EventEnvelope<E> {
        try await dispatch(event, identifier: identifier, origin: scope, observed: true)
    }

    /// Like ``emit(_:identifier:)`` but skips `bind` observers.
    @discardableResult
    public func emitInternal<E: Sendable>(_ event: E, identifier: String? = nil) async throws -> EventEnvelope<E> {
        try await dispatch(event, identifier: identifier, origin: scope, observed: false)
    }

    /// The answer of the first handler that does not concede.
    /// - Throws: ``RequestNotWired`` when no handler fits, ``AllConceded`` when all returned nil,
    ///   ``BusDisposed`` once the bus is disposed, or a handler's error.
    public func request<Request: Sendable, Response: Sendable>(
        _ request: Request,
        as response: Response.Type,
        identifier: String? = nil
    ) async throws -> Response {
        try await answer(request, as: Response.self, identifier: identifier, origin: scope)
    }

    /// Like ``request(_:as:identifier:)`` for a wire request.
    public func request<R: WireRequest>(_ request: R, identifier: String? = nil) async throws -> R.Response {
        try await answer(request, as: R.Response.self, identifier: identifier, origin: scope)
    }

    /// Nil instead of ``RequestNotWired`` / ``AllConceded``; a handler's own error and
    /// ``BusDisposed`` still throw.
    public func maybeRequest<Request: Sendable, Response: Sendable>(
        _ request: Request,
        as response: Response.Type,
        identifier: String? = nil
    ) async throws -> Response? {
        try await Self.nilWhenUnanswered { try await answer(request, as: Response.self, identifier: identifier, origin: scope) }
    }

    /// Like ``maybeRequest(_:as:identifier:)`` for a wire request.
    public func maybeRequest<R: WireRequest>(_ request: R, identifier: String? = nil) async throws -> R.Response? {
        try await maybeRequest(request, as: R.Response.self, identifier: identifier)
    }

    /// Cancels every subscription; later emits and requests throw ``BusDisposed``. A cascade
    /// that is running calls no further handler.
    public func dispose() {
        state.withLock { state in
            state.disposed = true
            for observer in state.observers { observer.retire() }
            for cascade in state.events.values { cascade.retireAll() }
            for cascade in state.requests.values { cascade.retireAll() }
            state.events.removeAll()
            state.requests.removeAll()
            state.observers.removeAll()
        }
    }

    /// Whether ``dispose()`` was called.
    public var isDisposed: Bool { state.withLock { $0.disposed } }

    // MARK: Internals

    static func key<Request, Response>(_ request: Request.Type, _ response: Response.Type) -> RequestKey {
        RequestKey(request: ObjectIdentifier(Request.self), response: ObjectIdentifier(Response.self))
    }

    static func nilWhenUnanswered<Response>(_ body: () async throws -> Response) async throws -> Response? {
        do {
            return try await body()
        } catch is RequestNotWired {
            return nil
        } catch is AllConceded {
            return nil
        }
    }

    func dispatch<E: Sendable>(_ event: E, identifier: String?, origin: EventOrigin, observed: Bool) async throws -> EventEnvelope<E> {
        let snapshot = state.withLock { state -> (observers: [Subscriber<ObserverBody>], handlers: Cascade<EventBody>.Order)? in
            guard !state.disposed else { return nil }
            return (observed ? state.observers : [], state.events[ObjectIdentifier(E.self)]?.order(for: identifier) ?? [])
        }
        guard let snapshot else { throw BusDisposed(bus: label) }
        for observer in snapshot.observers where observer.isLive {
            await observer.body(event, identifier)
        }
        let envelope = EventEnvelope(payload: event, identifier: identifier, origin: origin)
        var count = 0
        for handler in snapshot.handlers {
            if envelope.isStopped { break }
            guard handler.isLive else { continue }
            count += 1
            try await handler.body(envelope)
        }
        envelope.recordHandlers(count)
        return envelope
    }

    func answer<Request: Sendable, Response: Sendable>(
        _ request: Request, as response: Response.Type, identifier: String?, origin: EventOrigin
    ) async throws -> Response {
        let responders = state.withLock { state -> Cascade<ResponderBody>.Order? in
            guard !state.disposed else { return nil }
            return state.requests[Self.key(Request.self, Response.self)]?.order(for: identifier) ?? []
        }
        guard let responders else { throw BusDisposed(bus: label) }
        guard !responders.isEmpty else { throw RequestNotWired(request: Self.name(of: Request.self), identifier: identifier) }
        let context = RequestContext(origin: origin, identifier: identifier)
        let erased: any Sendable = request
        for responder in responders where responder.isLive {
            if let answer = try await responder.body(erased, context) as? Response { return answer }
        }
        throw AllConceded(request: Self.name(of: Request.self), identifier: identifier)
    }

    private static func name<T>(of type: T.Type) -> String {
        (type as? any WireRequest.Type)?.wireName ?? String(describing: type)
    }

    private func subscribe<Key: Hashable & Sendable, Body: Sendable>(
        _ kind: SubscribedType,
        in table: WritableKeyPath<State, [Key: Cascade<Body>]> & Sendable,
        key: Key,
        priority: Priority,
        identifier: String?,
        body: Body
    ) -> Subscription {
        let added = state.withLock { state -> (Subscriber<Body>, [@Sendable (SubscribedType) -> Void])? in
            guard !state.disposed else { return nil }
            let subscriber = Subscriber(id: state.makeID(), priority: priority, identifier: identifier, body: body)
            state[keyPath: table][key, default: Cascade()].insert(subscriber)
            guard state.subscribedTypeIDs.insert(kind.identifier).inserted else { return (subscriber, []) }
            state.subscribedTypes.append(kind)
            return (subscriber, state.typeObservers)
        }
        guard let (subscriber, observers) = added else { return Subscription.cancelled }
        for observer in observers { observer(kind) }
        return Subscription { [weak self] in
            subscriber.retire()
            self?.state.withLock { state in
                state[keyPath: table][key]?.remove(subscriber)
                if state[keyPath: table][key]?.isEmpty == true { state[keyPath: table][key] = nil }
            }
        }
    }
}

extension Cascade {
    /// Takes every subscriber out of any cascade that is running.
    func retireAll() {
        for subscriber in all { subscriber.retire() }
    }
}

/// A handle on a subscription; ``cancel()`` removes it (idempotent, safe during dispatch).
public final class Subscription: Sendable {
    private let action: Mutex<(@Sendable () -> Void)?>

    init(_ cancel: @escaping @Sendable () -> Void) {
        self.action = Mutex(cancel)
    }

    private init() {
        self.action = Mutex(nil)
    }

    /// A subscription that is already cancelled: what subscribing on a disposed bus returns.
    static var cancelled: Subscription { Subscription() }

    /// Removes the subscription.
    public func cancel() {
        let action = self.action.withLock { action -> (@Sendable () -> Void)? in
            defer { action = nil }
            return action
        }
        action?()
    }

    /// Whether ``cancel()`` was called (or the subscription was made on a disposed bus).
    public var isCancelled: Bool { action.withLock { $0 == nil } }
}
