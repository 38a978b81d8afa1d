import Logging

/// What a runtime does with settings that name a plugin or a service it does not know: a typo,
/// a renamed id, or settings cached by an older version.
public struct UnknownReferencePolicy: Sendable, Hashable, CustomStringConvertible {
    private enum Value: String { case throwError, logAndSkip, ignore }
    private let value: Value
    private init(_ value: Value) { self.value = value }

    /// Refuse the settings with an ``UnknownReferenceError`` naming every unknown id (the default).
    public static let throwError = UnknownReferencePolicy(.throwError)
    /// Drop the unknown entries and log them once at error level.
    public static let logAndSkip = UnknownReferencePolicy(.logAndSkip)
    /// Drop the unknown entries silently.
    public static let ignore = UnknownReferencePolicy(.ignore)

    public var description: String { value.rawValue }

    /// The policy named `name` (`throwError`, `logAndSkip`, `ignore`), as a process bridge carries it.
    public init?(name: String) {
        guard let value = Value(rawValue: name) else { return nil }
        self.value = value
    }
}

/// One entry of a settings document that names something the runtime does not know.
public enum UnknownReference: Sendable, Hashable, CustomStringConvertible {
    /// A `plugins` key that is no plugin's id.
    case plugin(PluginID)
    /// A `services` key whose plugin is no plugin's id.
    case pinnedPlugin(key: String, plugin: PluginID)
    /// A `services` key naming a service its plugin did not register.
    case pinnedService(key: String, plugin: PluginID, service: ServiceID)

    public var description: String {
        switch self {
        case .plugin(let id): return "plugins key '\(id)' (unknown plugin '\(id)')"
        case .pinnedPlugin(let key, let plugin): return "services key '\(key)' (unknown plugin '\(plugin)')"
        case .pinnedService(let key, let plugin, let service): return "services key '\(key)' (plugin '\(plugin)' did not register '\(service)')"
        }
    }
}

/// Settings refused because they name plugins or services the runtime does not know.
public struct UnknownReferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call that received them: `init`, `createSession`, `updateSettings`, `updateSessionSettings`.
    public let entryPoint: String
    /// Every unknown entry.
    public let references: [UnknownReference]

    /// Creates the error.
    public init(entryPoint: String, references: [UnknownReference]) {
        self.entryPoint = entryPoint
        self.references = references
    }

    public var description: String {
        "\(entryPoint) received settings that reference unknown ids: "
            + references.map(\.description).joined(separator: ", ")
            + ". Register the missing ids, or build the runtime with `unknownReferences: .logAndSkip` to drop such entries."
    }
}

/// Applies an ``UnknownReferencePolicy`` to settings: finds the entries that name unknown ids,
/// then throws, or drops them (logging or not).
struct SettingsVetting: Sendable {
    let policy: UnknownReferencePolicy
    let logger: Logger

    /// Checks the plugin ids of the `plugins` map and of plugin-specific `services` keys against
    /// `known`; returns the settings without the entries the policy drops.
    func vetPluginIDs(_ settings: RuntimeSettings, known: Set<PluginID>, entryPoint: String) throws(UnknownReferenceError) -> RuntimeSettings {
        var unknown: [UnknownReference] = []
        var vetted = settings
        for id in settings.plugins.keys.sorted() where !known.contains(id) {
            unknown.append(.plugin(id))
            vetted.plugins[id] = nil
        }
        for key in settings.services.keys.sorted() {
            guard let parsed = try? ServiceKey(parsing: key), let plugin = parsed.plugin, !known.contains(plugin) else { continue }
            unknown.append(.pinnedPlugin(key: key, plugin: plugin))
            vetted.services[key] = nil
        }
        try settle(unknown, entryPoint: entryPoint)
        return vetted
    }

    /// Checks that every plugin-specific override of a plugin in `scoped` names a service that
    /// plugin registered in `registry`; returns the overrides the policy keeps.
    func vetServiceIDs(_ overrides: ServiceOverrides, scoped: Set<PluginID>, registry: ServiceRegistry,
                       entryPoint: String) throws(UnknownReferenceError) -> ServiceOverrides {
        var unknown: [UnknownReference] = []
        var vetted = overrides
        for key in overrides.specific.keys.sorted(by: { "\($0.plugin?.rawValue ?? ""):\($0.service)" < "\($1.plugin?.rawValue ?? ""):\($1.service)" }) {
            guard let plugin = key.plugin, scoped.contains(plugin), !registry.hasRegistration(plugin: plugin, slot: key.service) else { continue }
            unknown.append(.pinnedService(key: "\(plugin):\(key.service)", plugin: plugin, service: key.service))
            vetted.specific[key] = nil
        }
        try settle(unknown, entryPoint: entryPoint)
        return vetted
    }

    private func settle(_ unknown: [UnknownReference], entryPoint: String) throws(UnknownReferenceError) {
        guard !unknown.isEmpty else { return }
        let error = UnknownReferenceError(entryPoint: entryPoint, references: unknown)
        switch policy {
        case .throwError: throw error
        case .logAndSkip: logger.error("settings entries dropped", metadata: ["problem": "\(error)"])
        default: break
        }
    }
}
