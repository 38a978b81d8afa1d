import Foundation
import Synchronization

/// A typed event bus: prioritized handlers form a cascade over one envelope; `bind` observers
/// see every event first; requests are answered by the first handler that does not concede.
///
/// Handlers of equal priority run in registration order. Emitting with an identifier reaches
/// the general handlers plus the handlers of exactly that identifier, never another's.
/// Cancelling a subscription, even from inside a running handler, is safe: a cancelled handler
/// is not called again, including later in the cascade that is running.
public final class EventBus: Sendable {
    typealias Invoke = @Sendable (AnyObject) async throws -> Void
    typealias Answer = @Sendable (any Sendable) async throws -> (any Sendable)?

    struct Handler {
        let id: UInt64
        let priority: Priority
        let identifier: String?
        let invoke: Invoke
    }

    struct Responder {
        let id: UInt64
        let priority: Priority
        let identifier: String?
        let answer: Answer
    }

    struct RequestKey: Hashable {
        let request: ObjectIdentifier
        let response: ObjectIdentifier
    }

    /// Decodes, dispatches and re-encodes an event known by wire name.
    typealias EncodedEmit = @Sendable (EventBus, Data, String?) async throws -> EncodedEnvelope
    /// Decodes, answers and encodes a request known by wire name.
    typealias EncodedRequest = @Sendable (EventBus, Data, String?) async throws -> Data

    struct State {
        var handlers: [ObjectIdentifier: [Handler]] = [:]
        var responders: [RequestKey: [Responder]] = [:]
        var observers: [UInt64: @Sendable (any Sendable, String?) async -> Void] = [:]
        var wireEvents: [String: EncodedEmit] = [:]
        var wireRequests: [String: EncodedRequest] = [:]
        var live: Set<UInt64> = []
        var nextID: UInt64 = 1
        var disposed = false
    }

    let state = Mutex(State())
    /// A label for logs and errors (`global`, or the session id).
    public let label: String

    /// An empty bus.
    public init(label: String = "bus") {
        self.label = label
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
        let invoke: Invoke = { envelope in
            guard let typed = envelope as? EventEnvelope<E> else { return }
            try await handler(typed)
        }
        return add(ObjectIdentifier(E.self), priority: priority, identifier: identifier, invoke: invoke)
    }

    /// Like ``on(_:priority:identifier:_:)``, and also makes `E` reachable by its wire name.
    @discardableResult
    public func on<E: WireEvent>(
        _ type: E.Type,
        priority: Priority = .normal,
        identifier: String? = nil,
        _ handler: @escaping @Sendable (EventEnvelope<E>) async throws -> Void
    ) -> Subscription {
        learn(E.self)
        let invoke: Invoke = { envelope in
            guard let typed = envelope as? EventEnvelope<E> else { return }
            try await handler(typed)
        }
        return add(ObjectIdentifier(E.self), priority: priority, identifier: identifier, invoke: invoke)
    }

    /// Observes every event that is not emitted internally, before any typed handler; cannot stop it.
    @discardableResult
    public func bind(_ observer: @escaping @Sendable (_ event: any Sendable, _ identifier: String?) async -> Void) -> Subscription {
        let id = state.withLock { state -> UInt64 in
            let id = state.nextID
            state.nextID += 1
            state.observers[id] = observer
            state.live.insert(id)
            return id
        }
        return Subscription { [weak self] in
            self?.state.withLock { state in
                state.observers[id] = nil
                state.live.remove(id)
            }
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
        let answer: Answer = { value in
            guard let typed = value as? Request else { return nil }
            return try await handler(typed)
        }
        return addResponder(RequestKey(request: ObjectIdentifier(Request.self), response: ObjectIdentifier(Response.self)),
                            priority: priority, identifier: identifier, answer: answer)
    }

    /// Answers a wire request; it becomes reachable by its wire name.
    @discardableResult
    public func onRequest<R: WireRequest>(
        _ request: R.Type,
        priority: Priority = .normal,
        identifier: String? = nil,
        _ handler: @escaping @Sendable (R) async throws -> R.Response?
    ) -> Subscription {
        learnRequest(R.self)
        return onRequest(R.self, R.Response.self, priority: priority, identifier: identifier, handler)
    }

    // MARK: Emitting

    /// Runs `event` through observers and the handler cascade; returns the final envelope.
    /// A handler's error propagates to the emitter and ends the cascade.
    @discardableResult
    public func emit<E: Sendable>(_ event: E, identifier: String? = nil) async throws -> EventEnvelope<E> {
        try await dispatch(event, identifier: identifier, observed: true)
    }

    /// Like ``emit(_:identifier:)`` but skips `bind` observers.
    @discardableResult
    public func emitInternal<E: Sendable>(_ event: E, identifier: String? = nil) async throws -> EventEnvelope<E> {
        try await dispatch(event, identifier: identifier, observed: false)
    }

    /// Emits an event known by its wire name with a JSON payload; returns the final JSON payload.
    ///
    /// A name no handler type was registered for reaches `bind` observers only, as an
    /// ``UnknownWireEvent``, and comes back unchanged and not stopped.
    public func emitEncoded(name: String, payload: Data, identifier: String?) async throws -> EncodedEnvelope {
        guard let emit = state.withLock({ $0.wireEvents[name] }) else {
            _ = try await dispatch(UnknownWireEvent(name: name, payload: payload), identifier: identifier, observed: true)
            return EncodedEnvelope(payload: payload, stopped: false)
        }
        return try await emit(self, payload, identifier)
    }

    /// Sends a request known by wire name with a JSON payload; returns the JSON answer.
    public func requestEncoded(name: String, payload: Data, identifier: String?) async throws -> Data {
        guard let request = state.withLock({ $0.wireRequests[name] }) else {
            throw RequestNotWired(request: name, identifier: identifier)
        }
        return try await request(self, payload, identifier)
    }

    /// The answer of the first handler that does not concede.
    /// - Throws: ``RequestNotWired`` when no handler fits, ``AllConceded`` when all returned nil.
    public func request<Request: Sendable, Response: Sendable>(
        _ request: Request,
        as response: Response.Type,
        identifier: String? = nil
    ) async throws -> Response {
        let key = RequestKey(request: ObjectIdentifier(Request.self), response: ObjectIdentifier(Response.self))
        let name = String(describing: Request.self)
        let responders = state.withLock { $0.responders[key] ?? [] }.filter { $0.identifier == nil || $0.identifier == identifier }
        guard !responders.isEmpty else { throw RequestNotWired(request: name, identifier: identifier) }
        for responder in responders where isLive(responder.id) {
            if let answer = try await responder.answer(request) as? Response { return answer }
        }
        throw AllConceded(request: name, identifier: identifier)
    }

    /// Like ``request(_:as:identifier:)`` for a wire request.
    public func request<R: WireRequest>(_ request: R, identifier: String? = nil) async throws -> R.Response {
        try await self.request(request, as: R.Response.self, identifier: identifier)
    }

    /// Nil instead of ``RequestNotWired`` / ``AllConceded``; a handler's own error still throws.
    public func maybeRequest<Request: Sendable, Response: Sendable>(
        _ request: Request,
        as response: Response.Type,
        identifier: String? = nil
    ) async throws -> Response? {
        do {
            return try await self.request(request, as: response, identifier: identifier)
        } catch is RequestNotWired {
            return nil
        } catch is AllConceded {
            return nil
        }
    }

    /// Cancels every subscription; later emits reach nobody and requests are not wired.
    public func dispose() {
        state.withLock { state in
            state.handlers.removeAll()
            state.responders.removeAll()
            state.observers.removeAll()
            state.live.removeAll()
            state.disposed = true
        }
    }

    /// Whether ``dispose()`` was called.
    public var isDisposed: Bool { state.withLock { $0.disposed } }

    // MARK: Internals

    private func dispatch<E: Sendable>(_ event: E, identifier: String?, observed: Bool) async throws -> EventEnvelope<E> {
        let envelope = EventEnvelope(payload: event, identifier: identifier)
        let (observers, handlers) = state.withLock { state in
            (observed ? Array(state.observers.sorted { $0.key < $1.key }) : [],
             (state.handlers[ObjectIdentifier(E.self)] ?? []).filter { $0.identifier == nil || $0.identifier == identifier })
        }
        for (id, observer) in observers where isLive(id) {
            await observer(event, identifier)
        }
        for handler in handlers {
            if envelope.isStopped { break }
            guard isLive(handler.id) else { continue }
            try await handler.invoke(envelope)
        }
        return envelope
    }

    private func isLive(_ id: UInt64) -> Bool {
        state.withLock { $0.live.contains(id) }
    }

    private func add(_ key: ObjectIdentifier, priority: Priority, identifier: String?, invoke: @escaping Invoke) -> Subscription {
        let id = state.withLock { state -> UInt64 in
            let id = state.nextID
            state.nextID += 1
            var list = state.handlers[key] ?? []
            let index = list.firstIndex { $0.priority < priority } ?? list.count
            list.insert(Handler(id: id, priority: priority, identifier: identifier, invoke: invoke), at: index)
            state.handlers[key] = list
            state.live.insert(id)
            return id
        }
        return Subscription { [weak self] in
            self?.state.withLock { state in
                state.handlers[key]?.removeAll { $0.id == id }
                state.live.remove(id)
            }
        }
    }

    private func addResponder(_ key: RequestKey, priority: Priority, identifier: String?, answer: @escaping Answer) -> Subscription {
        let id = state.withLock { state -> UInt64 in
            let id = state.nextID
            state.nextID += 1
            var list = state.responders[key] ?? []
            let index = list.firstIndex { $0.priority < priority } ?? list.count
            list.insert(Responder(id: id, priority: priority, identifier: identifier, answer: answer), at: index)
            state.responders[key] = list
            state.live.insert(id)
            return id
        }
        return Subscription { [weak self] in
            self?.state.withLock { state in
                state.responders[key]?.removeAll { $0.id == id }
                state.live.remove(id)
            }
        }
    }

    private func learn<E: WireEvent>(_ type: E.Type) {
        let emit: EncodedEmit = { bus, data, identifier in
            let event: E
            do {
                event = try JSONDecoder().decode(E.self, from: data)
            } catch {
                throw WirePayloadError(name: E.wireName, reason: "\(error)")
            }
            let envelope = try await bus.emit(event, identifier: identifier)
            return EncodedEnvelope(payload: try JSONEncoder().encode(envelope.payload), stopped: envelope.isStopped)
        }
        state.withLock { $0.wireEvents[E.wireName] = emit }
    }

    private func learnRequest<R: WireRequest>(_ type: R.Type) {
        let request: EncodedRequest = { bus, data, identifier in
            let value: R
            do {
                value = try JSONDecoder().decode(R.self, from: data)
            } catch {
                throw WirePayloadError(name: R.wireName, reason: "\(error)")
            }
            let answer = try await bus.request(value, identifier: identifier)
            return try JSONEncoder().encode(answer)
        }
        state.withLock { $0.wireRequests[R.wireName] = request }
    }
}

/// A handle on a subscription; ``cancel()`` removes it (idempotent, safe during dispatch).
public final class Subscription: Sendable {
    private let action: Mutex<(@Sendable () -> Void)?>

    init(_ cancel: @escaping @Sendable () -> Void) {
        self.action = Mutex(cancel)
    }

    /// Removes the subscription.
    public func cancel() {
        let action = self.action.withLock { action -> (@Sendable () -> Void)? in
            defer { action = nil }
            return action
        }
        action?()
    }

    /// Whether ``cancel()`` was called.
    public var isCancelled: Bool { action.withLock { $0 == nil } }
}
