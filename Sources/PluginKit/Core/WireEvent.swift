/// An event that may cross a process boundary: `Codable`, with a stable wire name.
///
/// Events on one bus may be any `Sendable` type; the cross-scope routes (a session's
/// `globalBus`, a global plugin's `sessions.emit`) take only wire events, because a sandboxed
/// session lives in another process. PluginKit only names the vocabulary; encoding and the
/// registry of names live in the process bridge.
public protocol WireEvent: Codable, Sendable {
    /// The name the event travels under; defaults to the type's name.
    static var wireName: String { get }
}

extension WireEvent {
    public static var wireName: String { String(describing: Self.self) }
}

/// A request that may cross a process boundary, with its response type.
public protocol WireRequest: Codable, Sendable {
    /// What answers this request.
    associatedtype Response: Codable & Sendable
    /// The name the request travels under; defaults to the type's name.
    static var wireName: String { get }
}

extension WireRequest {
    public static var wireName: String { String(describing: Self.self) }
}
