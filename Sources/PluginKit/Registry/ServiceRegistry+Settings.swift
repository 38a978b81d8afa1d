extension ServiceRegistry {
    /// Applies the service overrides of `settings`, as a scope does after its plugins registered:
    /// plugin-specific rows to their registrations, and each wildcard (`*:serviceId`) to its
    /// whole slot, with its priority bound to the slot's current winner.
    /// - Throws: ``SettingsError`` for a malformed key.
    public func applyOverrides(from settings: RuntimeSettings) throws(SettingsError) {
        apply(overrides: try ServiceOverrides(parsing: settings))
    }

    /// Whether `plugin` has a registration in `slot`.
    func hasRegistration(plugin: PluginID, slot: ServiceID) -> Bool {
        state.withLock { $0.slots[slot]?.contains { $0.pluginId == plugin } ?? false }
    }
}
