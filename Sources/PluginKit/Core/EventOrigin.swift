/// Where an event or request came from: the global scope, or one session.
///
/// The bus sets it, never the sender: a session's `context.globalBus` traffic reaches global
/// handlers as `.session(id)` with the id of the session that really sent it, in process and
/// across the process boundary alike, so a global handler can trust it.
public enum EventOrigin: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The global scope: a global plugin, or the host itself.
    case global
    /// The session with this id.
    case session(SessionID)

    public var description: String {
        switch self {
        case .global: return "global"
        case .session(let id): return "session \(id)"
        }
    }
}

/// What a request handler learns about the request besides its value.
public struct RequestContext: Sendable {
    /// Where the request came from (set by the bus, not by the sender).
    public let origin: EventOrigin
    /// The identifier the request was sent with, if any.
    public let identifier: String?

    /// Creates a context.
    public init(origin: EventOrigin, identifier: String?) {
        self.origin = origin
        self.identifier = identifier
    }
}
