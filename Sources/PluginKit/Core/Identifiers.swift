/// A plugin's id: a typed string handle.
public struct PluginId: Hashable, Sendable, Codable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The id's text.
    public let rawValue: String

    /// Wraps `rawValue`.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public static func < (lhs: PluginId, rhs: PluginId) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// A service slot's id; may be namespaced (`panel.console`).
public struct ServiceId: Hashable, Sendable, Codable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The id's text.
    public let rawValue: String

    /// Wraps `rawValue`.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public static func < (lhs: ServiceId, rhs: ServiceId) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
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

/// A session's id, stable for the session's life (and across worker restarts).
public struct SessionID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The id's text.
    public let rawValue: String

    /// Wraps `rawValue`.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// A fresh, unique id.
    public static func make() -> SessionID {
        SessionID("session-" + String(UInt64.random(in: 0...UInt64.max), radix: 36))
    }

    public static func < (lhs: SessionID, rhs: SessionID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}
