/// The global bus as a session sees it: in process it is the runtime's global bus; in a
/// sandboxed worker every call crosses to the supervisor and back.
///
/// Only wire events and requests cross: a session is sealed, and reaches global services through
/// requests, never through the global registry itself. Global handlers see the session as the
/// origin (``EventOrigin/session(_:)``), set by the host, never by the session.
public protocol GlobalBusAccess: Sendable {
    /// Runs the global cascade for `event`; returns the final envelope (mutations, stop).
    func emit<E: WireEvent>(_ event: E, identifier: String?) async throws -> EventEnvelope<E>
    /// The first non-conceding global answer.
    func request<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response
    /// Nil when nobody answers; handler errors still throw.
    func maybeRequest<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response?
}

extension GlobalBusAccess {
    /// Emits with no identifier.
    @discardableResult
    public func emit<E: WireEvent>(_ event: E) async throws -> EventEnvelope<E> { try await emit(event, identifier: nil) }
    /// Requests with no identifier.
    public func request<R: WireRequest>(_ request: R) async throws -> R.Response { try await self.request(request, identifier: nil) }
    /// Maybe-requests with no identifier.
    public func maybeRequest<R: WireRequest>(_ request: R) async throws -> R.Response? { try await maybeRequest(request, identifier: nil) }
}

/// The in-process ``GlobalBusAccess``: the runtime's global bus itself, reached as one session.
public struct InProcessGlobalBus: GlobalBusAccess {
    /// The global bus.
    public let bus: EventBus
    /// The session whose traffic this carries: global handlers see it as the origin.
    public let session: SessionID

    /// Reaches `bus` on behalf of `session`.
    public init(bus: EventBus, session: SessionID) {
        self.bus = bus
        self.session = session
    }

    public func emit<E: WireEvent>(_ event: E, identifier: String?) async throws -> EventEnvelope<E> {
        try await bus.emit(event, identifier: identifier, origin: .session(session))
    }

    public func request<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response {
        try await bus.request(request, identifier: identifier, origin: .session(session))
    }

    public func maybeRequest<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response? {
        try await bus.maybeRequest(request, identifier: identifier, origin: .session(session))
    }
}
