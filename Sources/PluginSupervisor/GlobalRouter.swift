import PluginWire

/// The outcome of an emit across the boundary: the final payload, whether a handler stopped the
/// cascade, how many handlers ran and whether one replaced the payload (nil when the other side
/// did not say).
public typealias EmitOutcome = (payload: JSONValue, stopped: Bool, handlerCount: Int?, payloadReplaced: Bool?)

/// Where a worker's `context.globalBus` traffic lands in the supervisor.
///
/// The supervisor's runtime implements it over the global bus; tests can implement it directly.
/// Payloads are JSON values: the router decodes them by wire name into the types the global
/// plugins subscribed to.
public protocol GlobalRouter: Sendable {
    /// Runs the global cascade for `event` and returns the final payload, whether a handler
    /// stopped it, and how many handlers ran.
    func emit(event: String, payload: JSONValue, identifier: String?, from sessionID: String) async throws -> EmitOutcome
    /// Answers a request; nil only when `optional` and nobody answered.
    func request(name: String, payload: JSONValue, identifier: String?, optional: Bool, from sessionID: String) async throws -> JSONValue?
}
