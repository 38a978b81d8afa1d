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

    public init(from decoder: any Decoder) throws {
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

    public init(from decoder: any Decoder) throws {
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
    public var plugins: [PluginId: PluginConfig]
    /// Service overrides, keyed `pluginId:serviceId` or `*:serviceId`.
    public var services: [String: ServiceSettings]

    /// Creates settings.
    public init(plugins: [PluginId: PluginConfig] = [:], services: [String: ServiceSettings] = [:]) {
        self.plugins = plugins
        self.services = services
    }

    private enum CodingKeys: String, CodingKey { case plugins, services }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let plugins = try container.decodeIfPresent([String: PluginConfig].self, forKey: .plugins) ?? [:]
        self.plugins = Dictionary(uniqueKeysWithValues: plugins.map { (PluginId($0.key), $0.value) })
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
    public func config(for plugin: PluginId) -> PluginConfig? { plugins[plugin] }
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
