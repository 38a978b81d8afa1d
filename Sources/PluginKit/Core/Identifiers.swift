/// A typed string handle: each kind of id is its own type, sharing one implementation.
public protocol StringIdentifier: Hashable, Sendable, Codable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The id's text.
    var rawValue: String { get }
    /// Wraps `rawValue`.
    init(_ rawValue: String)
}

extension StringIdentifier {
    public init(stringLiteral value: String) { self.init(value) }
    public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// A plugin's id.
public struct PluginId: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// A service slot's id; may be namespaced (`panel.console`).
public struct ServiceId: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// A session's id, stable for the session's life (and across worker restarts).
public struct SessionID: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// A fresh, unique id.
    public static func make() -> SessionID {
        SessionID("session-" + String(UInt64.random(in: 0...UInt64.max), radix: 36))
    }
}

/// Builds and matches namespaced service ids: `Namespace("panel")("console")` is `panel.console`.
public struct Namespace: Hashable, Sendable {
    /// The namespace's own path, e.g. `panel`.
    public let path: String

    /// A namespace at `path`.
    public init(_ path: String) { self.path = path }

    /// The id `path.name`.
    public func callAsFunction(_ name: String) -> ServiceId { ServiceId("\(path).\(name)") }

    /// A nested namespace `path.name`.
    public func child(_ name: String) -> Namespace { Namespace("\(path).\(name)") }

    /// Whether `id` is a child or any descendant of this namespace.
    public func contains(_ id: ServiceId) -> Bool { id.rawValue.hasPrefix(path + ".") }
}
