extension ServiceRegistry {
    /// Applies the service overrides of `settings` (as a scope does after registration).
    /// - Throws: ``SettingsError`` for a malformed key.
    public func applyOverrides(from settings: RuntimeSettings) throws(SettingsError) {
        apply(overrides: try settings.parsedServices())
    }
}
