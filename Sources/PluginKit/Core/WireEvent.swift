import Synchronization

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
    public static var wireName: String { TypeNames.name(of: Self.self) }
}

/// A request that may cross a process boundary, with its response type.
public protocol WireRequest: Codable, Sendable {
    /// What answers this request.
    associatedtype Response: Codable & Sendable
    /// The name the request travels under; defaults to the type's name.
    static var wireName: String { get }
}

extension WireRequest {
    public static var wireName: String { TypeNames.name(of: Self.self) }
}

/// Type names, computed once per type: naming a type demangles it (hundreds of microseconds the
/// first time), and every emit across a process boundary names its event.
enum TypeNames {
    private static let cache = Mutex<[ObjectIdentifier: String]>([:])

    static func name(of type: Any.Type) -> String {
        let key = ObjectIdentifier(type)
        if let name = cache.withLock({ $0[key] }) { return name }
        // `_typeName` is what `String(describing:)` prints for a type, without first asking the
        // type for a dozen printing conformances: in a fresh worker each of those lookups scans
        // every conformance record of the program, and they were most of a session's start.
        let name = _typeName(type, qualified: false)
        cache.withLock { $0[key] = name }
        return name
    }
}
