import PluginBridge
@_spi(SessionHost) import PluginKit
import PluginWire
import Synchronization

/// Routes workers' `globalBus` traffic into the runtime's global bus by wire name, with the
/// sending session as the origin the global handlers see.
final class BusRouter: GlobalRouter {
    private let registry = Mutex<WireRegistry?>(nil)

    /// Points the router at the runtime's global bus.
    func bind(_ global: EventBus) {
        registry.withLock { registry in
            if registry?.bus !== global { registry = WireRegistry(bus: global) }
        }
    }

    private func global() throws -> WireRegistry {
        guard let registry = registry.withLock({ $0 }) else {
            throw WireFailure(code: .internal, message: "no runtime is bound to this supervisor")
        }
        return registry
    }

    func emit(event: String, payload: RawJSON, identifier: String?, from sessionID: String) async throws -> GlobalEmitOutcome {
        let envelope = try await global().emit(name: event, payload: payload, identifier: identifier, origin: .session(SessionID(sessionID)))
        return GlobalEmitOutcome(payload: envelope.isPayloadReplaced ? envelope.payload : nil, stopped: envelope.stopped,
                                 handled: envelope.handlerCount)
    }

    func request(name: String, payload: RawJSON, identifier: String?, optional: Bool, from sessionID: String) async throws -> RawJSON? {
        do {
            return try await global().request(name: name, payload: payload, identifier: identifier, origin: .session(SessionID(sessionID)))
        } catch where optional && WireFailure(describing: error).isNoAnswer {
            return nil
        }
    }
}
