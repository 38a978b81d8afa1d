import Foundation
import PluginKit
import PluginWire
import Synchronization

/// Routes workers' `globalBus` traffic into the runtime's global bus, by wire name.
final class BusRouter: GlobalRouter {
    private let bus = Mutex<EventBus?>(nil)

    /// Points the router at the runtime's global bus.
    func bind(_ global: EventBus) { bus.withLock { $0 = global } }

    private func global() throws -> EventBus {
        guard let bus = bus.withLock({ $0 }) else { throw WireFailure(code: .internal, message: "no runtime is bound to this supervisor") }
        return bus
    }

    func emit(event: String, payload: JSONValue, identifier: String?, from sessionID: String) async throws -> (payload: JSONValue, stopped: Bool) {
        let envelope = try await global().emitEncoded(name: event, payload: try payload.jsonData(), identifier: identifier)
        return (try JSONValue(jsonData: envelope.payload), envelope.stopped)
    }

    func request(name: String, payload: JSONValue, identifier: String?, optional: Bool, from sessionID: String) async throws -> JSONValue? {
        let answer = try await global().requestEncoded(name: name, payload: try payload.jsonData(), identifier: identifier)
        return try JSONValue(jsonData: answer)
    }
}
