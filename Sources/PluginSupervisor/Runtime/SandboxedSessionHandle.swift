import Foundation
import PluginBridge
import PluginKit
import PluginWire

/// A ``SandboxedSession`` seen through PluginKit's `SessionHandle`: typed events and requests
/// go over the wire as JSON and come back as the same Swift types, with the runtime's own
/// errors (`RequestNotWired`, `AllConceded`) where the worker raised them.
struct SandboxedSessionHandle: SessionHandle {
    let session: SandboxedSession

    var id: SessionID { SessionID(session.id) }

    func emit<E: WireEvent>(_ event: E, identifier: String?) async throws -> EventEnvelope<E> {
        let payload = try JSONValue(encoding: event)
        let result: EmitOutcome
        do {
            result = try await session.emit(event: E.wireName, payload: payload, identifier: identifier)
        } catch {
            throw error.runtimeError(name: E.wireName, identifier: identifier)
        }
        return EventEnvelope(payload: try result.payload.decode(as: E.self), identifier: identifier, origin: .global,
                             stopped: result.stopped, handlerCount: result.handlerCount ?? 0, isPayloadReplaced: result.payloadReplaced ?? (result.payload != payload))
    }

    func request<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response {
        let payload = try JSONValue(encoding: request)
        let answer: JSONValue?
        do {
            answer = try await session.request(name: R.wireName, payload: payload, identifier: identifier)
        } catch {
            throw error.runtimeError(name: R.wireName, identifier: identifier)
        }
        guard let answer else { throw AllConceded(request: R.wireName, identifier: identifier) }
        return try answer.decode(as: R.Response.self)
    }

    func reconcile(to settings: RuntimeSettings, globalPlugins: Set<PluginId>) async throws -> ReconcileReport {
        // LEAD: carry `globalPlugins` to the worker with the settings (its scope reconciles against the set it had).
        let result = try await session.reconcile(settings: try JSONValue(encoding: settings))
        return ReconcileReport(
            attached: Set(result.attached.map { PluginId($0) }),
            detached: Set(result.detached.map { PluginId($0) }),
            changed: Set(result.changed.map { PluginId($0) }))
    }

    func enabledPlugins() async -> Set<PluginId> {
        Set(session.summary.enabledPlugins.map { PluginId($0) })
    }

    func attachedPlugins() async -> Set<PluginId> {
        Set(session.summary.attachedPlugins.map { PluginId($0) })
    }

    func dispose() async throws {
        _ = await session.dispose()
    }
}

extension SessionError {
    /// The runtime error this failure stands for: a remote `notWired` becomes `RequestNotWired`, and so on.
    func runtimeError(name: String, identifier: String?) -> any Error {
        if code == .remote, let failure { return failure.runtimeError(name: name, identifier: identifier) }
        return self
    }
}
