import PluginBridge
import PluginKit
import PluginWire

/// A supervised session seen through PluginKit's `SessionHandle`: typed events and requests go
/// over the wire as JSON and come back as the same Swift types, with the runtime's own errors
/// (`RequestNotWired`, `AllConceded`, `BusDisposed`) where the worker raised them.
struct SandboxedSessionHandle: SessionHandle {
    let session: SupervisedSession

    var id: SessionID { SessionID(session.id) }

    func emit<E: WireEvent>(_ event: E, identifier: String?) async throws -> EventEnvelope<E> {
        let payload = try RawJSON(encoding: event)
        let reply: WireMessage
        do {
            reply = try await session.call("emit \(E.wireName)") { id in
                .emit(Emit(id: id, scope: .session, event: E.wireName, identifier: identifier, payload: payload))
            }
        } catch {
            throw error.runtimeError(name: E.wireName, identifier: identifier)
        }
        guard case .emitResult(let result) = reply else { throw SessionError.unexpected(reply, session: session.id) }
        if let failure = result.error { throw failure.runtimeError(name: E.wireName, identifier: identifier) }
        let final = try result.payload.map { try $0.decode(E.self) } ?? event
        return EventEnvelope(payload: final, identifier: identifier, stopped: result.stopped, handlerCount: result.handled,
                             isPayloadReplaced: result.payload != nil)
    }

    func request<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response {
        let payload = try RawJSON(encoding: request)
        let reply: WireMessage
        do {
            reply = try await session.call("request \(R.wireName)") { id in
                .request(Request(id: id, scope: .session, name: R.wireName, identifier: identifier, payload: payload))
            }
        } catch {
            throw error.runtimeError(name: R.wireName, identifier: identifier)
        }
        guard case .response(let response) = reply else { throw SessionError.unexpected(reply, session: session.id) }
        if let failure = response.error { throw failure.runtimeError(name: R.wireName, identifier: identifier) }
        guard let answer = response.payload else { throw AllConceded(request: R.wireName, identifier: identifier) }
        return try answer.decode(R.Response.self)
    }

    func reconcile(to settings: RuntimeSettings, globalPlugins: Set<PluginID>) async throws -> ReconcileReport {
        let result = try await session.reconcile(settings: try RawJSON(encoding: settings), globalPlugins: globalPlugins.map(\.rawValue).sorted())
        return ReconcileReport(
            attached: Set(result.attached.map { PluginID($0) }),
            detached: Set(result.detached.map { PluginID($0) }),
            changed: Set(result.changed.map { PluginID($0) }))
    }

    func enabledPlugins() async -> Set<PluginID> {
        Set(session.summary.enabledPlugins.map { PluginID($0) })
    }

    func attachedPlugins() async -> Set<PluginID> {
        Set(session.summary.attachedPlugins.map { PluginID($0) })
    }

    func dispose() async throws {
        let cause = await session.dispose()
        if cause.kind != .disposed, cause.kind != .killedByOperator {
            throw SessionError.dead(session.id, cause: cause)
        }
    }
}

extension Error {
    /// The runtime error a session failure stands for: a remote `notWired` becomes
    /// `RequestNotWired`, a dead session's disposed bus `BusDisposed`, and so on.
    func runtimeError(name: String, identifier: String?) -> any Error {
        guard let error = self as? SessionError else { return self }
        if error.code == .remote, let failure = error.failure { return failure.runtimeError(name: name, identifier: identifier) }
        return error
    }
}

extension SessionError {
    static func unexpected(_ reply: WireMessage, session: String) -> SessionError {
        SessionError(code: .remote, sessionID: session, message: "session \(session) answered with \(reply.kind)")
    }
}
