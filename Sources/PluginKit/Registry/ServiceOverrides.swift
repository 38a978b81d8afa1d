/// The service overrides of a settings document, parsed: plugin-specific rows
/// (`pluginId:serviceId`) and wildcard rows (`*:serviceId`).
///
/// How a registration's effective override is found (as in plugin_kit):
/// - its plugin-specific row, or, when it has none and it won the slot when the wildcards were
///   last materialised, the wildcard row itself (the wildcard's *priority* binds to that winner
///   and stays with it, even when it re-registers lower: priority transfers are not automatic);
/// - merged with the wildcard row knob by knob: `enabled` ANDs (a wildcard `enabled: false`
///   disables the whole slot), the specific priority applies if set, the specific config wins
///   if non-empty, else the wildcard's config fills in (so wildcard config reaches whoever wins).
struct ServiceOverrides: Sendable, Equatable {
    var specific: [ServiceKey: ServiceSettings] = [:]
    var wildcards: [ServiceID: ServiceSettings] = [:]

    init() {}

    init(parsing settings: RuntimeSettings) throws(SettingsError) {
        for (key, value) in settings.services {
            let parsed = try ServiceKey(parsing: key)
            if parsed.plugin == nil {
                wildcards[parsed.service] = value
            } else {
                specific[parsed] = value
            }
        }
    }

    /// The row that applies to `plugin`'s registration in `slot` before the wildcard merge.
    func row(plugin: PluginID, slot: ServiceID, forwardedTo winner: PluginID?) -> ServiceSettings? {
        specific[ServiceKey(plugin: plugin, service: slot)] ?? (winner == plugin ? wildcards[slot] : nil)
    }

    /// The effective override of `plugin`'s registration in `slot`.
    func effective(plugin: PluginID, slot: ServiceID, forwardedTo winner: PluginID?) -> ServiceSettings? {
        let row = row(plugin: plugin, slot: slot, forwardedTo: winner)
        switch (row, wildcards[slot]) {
        case (nil, nil):
            return nil
        case (let row?, nil):
            return row
        case (nil, let wildcard?):
            return ServiceSettings(enabled: wildcard.enabled, priority: nil, config: wildcard.config)
        case (let row?, let wildcard?):
            var merged = row.merged(withWildcard: wildcard)
            merged.priority = row.priority
            return merged
        }
    }
}

/// A parsed service-override key.
struct ServiceKey: Hashable, Sendable {
    /// nil for the wildcard `*`.
    let plugin: PluginID?
    let service: ServiceID

    init(parsing key: String) throws(SettingsError) {
        let parts = key.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .malformedServiceKey(key, reason: "expected `pluginId:serviceId` or `*:serviceId`") }
        let plugin = String(parts[0]).trimmingWhitespace
        let service = String(parts[1]).trimmingWhitespace
        guard !plugin.isEmpty else { throw .malformedServiceKey(key, reason: "the plugin id is empty") }
        guard !service.isEmpty else { throw .malformedServiceKey(key, reason: "the service id is empty") }
        guard !service.contains(":") else { throw .malformedServiceKey(key, reason: "the service id contains ':'") }
        self.plugin = plugin == "*" ? nil : PluginID(plugin)
        self.service = ServiceID(service)
    }

    init(plugin: PluginID?, service: ServiceID) {
        self.plugin = plugin
        self.service = service
    }
}
