/// Per-plugin settings: whether it is enabled and its configuration.
public struct PluginConfig: Sendable, Hashable, Codable {
    /// Explicit enablement; nil leaves the plugin's default (stable on, experimental off).
    public var enabled: Bool?
    /// The plugin's configuration.
    public var config: [String: ConfigValue]

    /// Creates a plugin config.
    public init(enabled: Bool? = nil, config: [String: ConfigValue] = [:]) {
        self.enabled = enabled
        self.config = config
    }

    private enum CodingKeys: String, CodingKey, CaseIterable { case enabled, config }

    /// Decodes strictly: a key other than `enabled` and `config` is a ``SettingsDocumentError``.
    public init(from decoder: any Decoder) throws {
        try SettingsDocumentError.rejectUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled)
        config = try container.decodeIfPresent([String: ConfigValue].self, forKey: .config) ?? [:]
    }
}

/// Per-service overrides: enablement, priority and configuration.
public struct ServiceSettings: Sendable, Hashable, Codable {
    /// nil: unchanged; false skips the registration.
    public var enabled: Bool?
    /// Replaces the registration's priority when set.
    public var priority: Int?
    /// Configuration injected into the service.
    public var config: [String: ConfigValue]

    /// Creates service settings.
    public init(enabled: Bool? = nil, priority: Int? = nil, config: [String: ConfigValue] = [:]) {
        self.enabled = enabled
        self.priority = priority
        self.config = config
    }

    private enum CodingKeys: String, CodingKey, CaseIterable { case enabled, priority, config }

    /// Decodes strictly: a key other than `enabled`, `priority` and `config` is a ``SettingsDocumentError``.
    public init(from decoder: any Decoder) throws {
        try SettingsDocumentError.rejectUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled)
        priority = try container.decodeIfPresent(Int.self, forKey: .priority)
        config = try container.decodeIfPresent([String: ConfigValue].self, forKey: .config) ?? [:]
    }

    /// The merge of a plugin-specific override (`self`) with a wildcard one: `enabled` ANDs,
    /// the specific priority wins if set, the specific config wins if non-empty.
    public func merged(withWildcard wildcard: ServiceSettings) -> ServiceSettings {
        let enabled: Bool?
        switch (self.enabled, wildcard.enabled) {
        case (nil, nil): enabled = nil
        case (let specific?, nil): enabled = specific
        case (nil, let general?): enabled = general
        case (let specific?, let general?): enabled = specific && general
        }
        return ServiceSettings(
            enabled: enabled,
            priority: priority ?? wildcard.priority,
            config: config.isEmpty ? wildcard.config : config)
    }
}

/// The settings of a whole runtime: plugins by id, service overrides by `pluginId:serviceId`
/// or `*:serviceId`. Round-trips through JSON.
public struct RuntimeSettings: Sendable, Hashable, Codable {
    /// Plugin settings.
    public var plugins: [PluginID: PluginConfig]
    /// Service overrides, keyed `pluginId:serviceId` or `*:serviceId`.
    public var services: [String: ServiceSettings]

    /// Creates settings.
    public init(plugins: [PluginID: PluginConfig] = [:], services: [String: ServiceSettings] = [:]) {
        self.plugins = plugins
        self.services = services
    }

    private enum CodingKeys: String, CodingKey, CaseIterable { case plugins, services }

    /// Decodes strictly: a key the document format does not have (`"plugin"` for `"plugins"`,
    /// `"enabld"` for `"enabled"`) is a ``SettingsDocumentError`` naming the key and its value,
    /// never silently ignored.
    public init(from decoder: any Decoder) throws {
        try SettingsDocumentError.rejectUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let plugins = try container.decodeIfPresent([String: PluginConfig].self, forKey: .plugins) ?? [:]
        self.plugins = Dictionary(uniqueKeysWithValues: plugins.map { (PluginID($0.key), $0.value) })
        services = try container.decodeIfPresent([String: ServiceSettings].self, forKey: .services) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Dictionary(uniqueKeysWithValues: plugins.map { ($0.key.rawValue, $0.value) }), forKey: .plugins)
        try container.encode(services, forKey: .services)
    }

    /// Checks every key; the error names the first bad one.
    public func validate() throws(SettingsError) {
        for id in plugins.keys where id.rawValue.trimmingWhitespace.isEmpty {
            throw .emptyPluginId
        }
        for key in services.keys.sorted() {
            _ = try ServiceKey(parsing: key)
        }
    }

    /// Whether `plugin` is explicitly configured.
    public func config(for plugin: PluginID) -> PluginConfig? { plugins[plugin] }
}

/// A settings document that does not validate; names the bad key.
public enum SettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A `services` key is not `pluginId:serviceId` or `*:serviceId`.
    case malformedServiceKey(String, reason: String)
    /// A `plugins` key is empty.
    case emptyPluginId

    public var description: String {
        switch self {
        case .malformedServiceKey(let key, let reason): return "services key '\(key)' is invalid: \(reason)"
        case .emptyPluginId: return "plugins has an empty plugin id"
        }
    }
}

/// A settings document with a key the format does not have: names the key (its path in the
/// document, such as `plugins.editor.enabld`), its value, and the keys allowed there.
public struct SettingsDocumentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key's path in the document, dot-separated.
    public var key: String
    /// The key's value, as JSON.
    public var value: String
    /// The keys allowed where it stands.
    public var known: [String]

    /// Creates the error.
    public init(key: String, value: String, known: [String]) {
        self.key = key
        self.value = value
        self.known = known
    }

    public var description: String {
        "unknown key '\(key)' (value \(value)); allowed here: \(known.joined(separator: ", "))"
    }

    /// Throws for the first key of the object `decoder` holds that is not in `known`.
    static func rejectUnknownKeys(in decoder: any Decoder, known: [String]) throws {
        let container = try decoder.container(keyedBy: DocumentKey.self)
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !known.contains(key.stringValue) {
            let path = (decoder.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            let value = (try? container.decode(ConfigValue.self, forKey: key)).map(\.jsonText) ?? "(unreadable)"
            throw SettingsDocumentError(key: path, value: value, known: known)
        }
    }

    private struct DocumentKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }
}
