import PluginKit
import PluginWire

/// `context.globalBus` of a session served over the wire: every emit and request goes to the
/// other side (from a worker, the supervisor, which runs the global cascade with this session as
/// the origin it knows, not one the worker could claim) and comes back as the final envelope,
/// the answer, or the global handler's error, thrown here as it would be in process.
public struct WireGlobalBus: GlobalBusAccess {
    /// Where the calls go.
    public let connection: any WireChannel

    /// A global bus over `connection`.
    public init(connection: any WireChannel) {
        self.connection = connection
    }

    public func emit<E: WireEvent>(_ event: E, identifier: String?) async throws -> EventEnvelope<E> {
        let payload = try RawJSON(encoding: event)
        let reply = await connection.call { id in
            .emit(Emit(id: id, scope: .global, event: E.wireName, identifier: identifier, payload: payload))
        }
        let message = try reply.get()
        guard case .emitResult(let result) = message else {
            throw WireFailure(code: .protocolBreach, message: "the supervisor answered an emit with \(message.kind)")
        }
        if let error = result.error { throw error.runtimeError(name: E.wireName, identifier: identifier) }
        let final = try result.payload.map { try $0.decode(E.self) } ?? event
        return EventEnvelope(payload: final, identifier: identifier, stopped: result.stopped, handlerCount: result.handled,
                             isPayloadReplaced: result.payload != nil)
    }

    public func request<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response {
        guard let answer = try await send(request, identifier: identifier, optional: false) else {
            throw AllConceded(request: R.wireName, identifier: identifier)
        }
        return answer
    }

    public func maybeRequest<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response? {
        try await send(request, identifier: identifier, optional: true)
    }

    private func send<R: WireRequest>(_ request: R, identifier: String?, optional: Bool) async throws -> R.Response? {
        let payload = try RawJSON(encoding: request)
        let reply = await connection.call { id in
            .request(Request(id: id, scope: .global, name: R.wireName, identifier: identifier, payload: payload, optional: optional))
        }
        let message = try reply.get()
        guard case .response(let response) = message else {
            throw WireFailure(code: .protocolBreach, message: "the supervisor answered a request with \(message.kind)")
        }
        if let error = response.error {
            if optional, error.isNoAnswer { return nil }
            throw error.runtimeError(name: R.wireName, identifier: identifier)
        }
        guard let answer = response.payload else { return nil }
        return try answer.decode(R.Response.self)
    }
}
