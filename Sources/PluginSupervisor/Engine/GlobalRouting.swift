import PluginWire

/// Where a worker's `context.globalBus` traffic lands in the supervisor.
///
/// The runtime's sandboxed host implements it over the global bus; tests implement it directly.
/// Payloads stay raw JSON: the router decodes them by wire name into the types the global plugins
/// subscribed to. `sessionID` is the sender as the supervisor knows it, never as the worker claims.
public protocol GlobalRouter: Sendable {
    /// Runs the global cascade for `event`.
    func emit(event: String, payload: RawJSON, identifier: String?, from sessionID: String) async throws -> GlobalEmitOutcome
    /// Answers a request; nil only when `optional` and nobody answered.
    func request(name: String, payload: RawJSON, identifier: String?, optional: Bool, from sessionID: String) async throws -> RawJSON?
}

/// The end of a global emit, as a router reports it.
public struct GlobalEmitOutcome: Sendable, Equatable {
    /// The final payload, or nil when no handler replaced it.
    public var payload: RawJSON?
    /// Whether a handler stopped the cascade.
    public var stopped: Bool
    /// How many handlers ran.
    public var handled: Int

    /// Creates an outcome.
    public init(payload: RawJSON?, stopped: Bool, handled: Int) {
        self.payload = payload
        self.stopped = stopped
        self.handled = handled
    }
}

/// Turns a worker's global call into the router's answer, as the reply frame.
enum GlobalRouting {
    static func answer(_ call: GlobalCall, router: any GlobalRouter) async -> WireMessage {
        switch call.message {
        case .emit(let emit):
            do {
                let outcome = try await router.emit(event: emit.event, payload: emit.payload, identifier: emit.identifier, from: call.sessionID)
                return .emitResult(EmitResult(id: emit.id, handled: outcome.handled, stopped: outcome.stopped, payload: outcome.payload))
            } catch {
                return failureReply(to: call, WireFailure(describing: error))
            }
        case .request(let request):
            do {
                let answer = try await router.request(name: request.name, payload: request.payload, identifier: request.identifier,
                                                      optional: request.optional, from: call.sessionID)
                return .response(Response(id: request.id, payload: answer))
            } catch {
                return failureReply(to: call, WireFailure(describing: error))
            }
        default:
            return failureReply(to: call, WireFailure(code: .internal, message: "not a global call"))
        }
    }

    static func failureReply(to call: GlobalCall, _ failure: WireFailure) -> WireMessage {
        if case .request(let request) = call.message {
            return .response(Response(id: request.id, payload: nil, error: failure))
        }
        return .emitResult(EmitResult(id: call.id, handled: 0, stopped: false, payload: nil, error: failure))
    }
}
