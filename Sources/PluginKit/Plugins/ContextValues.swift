/// A key for a host-specific value in a plugin context (the current user, the open document,
/// a telemetry client): the typed replacement of plugin_kit's context subclasses.
public protocol ContextKey {
    /// The value's type.
    associatedtype Value: Sendable
    /// The name errors use; defaults to the key's type name.
    static var name: String { get }
}

extension ContextKey {
    public static var name: String { String(describing: Self.self) }
}

/// Host-specific values a context carries, built by the host's context factory.
public struct ContextValues: Sendable {
    private var storage: [ObjectIdentifier: any Sendable] = [:]

    /// No values.
    public init() {}

    /// The value for `key`, if the factory provided one.
    public subscript<Key: ContextKey>(_ key: Key.Type) -> Key.Value? {
        get { storage[ObjectIdentifier(key)] as? Key.Value }
        set { storage[ObjectIdentifier(key)] = newValue }
    }

    /// The value for `key`, or a loud configuration error naming the key when the host's context
    /// factory did not provide it (never a silent default).
    public func require<Key: ContextKey>(_ key: Key.Type) throws(RuntimeError) -> Key.Value {
        guard let value = self[key] else { throw .missingContextFactory(Key.name) }
        return value
    }

    /// Whether no value is set.
    public var isEmpty: Bool { storage.isEmpty }
}
