import Foundation
import PluginBridge
@_spi(SessionHost) import PluginKit
import PluginWire
import Synchronization

/// Routes workers' `globalBus` traffic into the runtime's global bus, by wire name, with the
/// sending session as the origin global handlers see.
final class BusRouter: GlobalRouter {
    private let registry = Mutex<WireRegistry?>(nil)

    /// Points the router at the runtime's global bus.
    func bind(_ global: EventBus) {
        registry.withLock { registry in
            if registry?.bus !== global { registry = WireRegistry(bus: global) }
        }
    }

    private func global() throws -> WireRegistry {
        guard let registry = registry.withLock({ $0 }) else { throw WireFailure(code: .internal, message: "no runtime is bound to this supervisor") }
        return registry
    }

    func emit(event: String, payload: JSONValue, identifier: String?, from sessionID: String) async throws -> EmitOutcome {
        let envelope = try await global().emit(name: event, payload: try payload.jsonData(), identifier: identifier,
                                               origin: .session(SessionID(sessionID)))
        return (envelope.isPayloadReplaced ? try JSONValue(jsonData: envelope.payload) : payload, envelope.stopped, envelope.handlerCount, envelope.isPayloadReplaced)
    }

    func request(name: String, payload: JSONValue, identifier: String?, optional: Bool, from sessionID: String) async throws -> JSONValue? {
        let answer = try await global().request(name: name, payload: try payload.jsonData(), identifier: identifier,
                                                origin: .session(SessionID(sessionID)))
        return try JSONValue(jsonData: answer)
    }
}
