/// New settings for the worker to reconcile its session scope against.
public struct SettingsUpdate: Sendable, Equatable {
    /// Correlation id; the ``SettingsResult`` carries the same id.
    public var id: UInt64
    /// The new `RuntimeSettings` as JSON.
    public var settings: RawJSON
    /// The global plugins enabled under the new settings (ids).
    public var globalPlugins: [String]

    /// Creates a settings update.
    public init(id: UInt64, settings: RawJSON, globalPlugins: [String]) {
        self.id = id
        self.settings = settings
        self.globalPlugins = globalPlugins
    }
}

/// The outcome of reconciling a ``SettingsUpdate`` inside the worker.
public struct SettingsResult: Sendable, Equatable {
    /// The id of the ``SettingsUpdate`` this answers.
    public var id: UInt64
    /// Plugins attached by the update.
    public var attached: [String]
    /// Plugins detached by the update.
    public var detached: [String]
    /// Plugins that stayed and saw their settings change.
    public var changed: [String]
    /// Why reconciliation failed (the worker rolled back), if it did.
    public var error: WireFailure?

    /// Creates a settings result.
    public init(id: UInt64, attached: [String], detached: [String], changed: [String], error: WireFailure? = nil) {
        self.id = id
        self.attached = attached
        self.detached = detached
        self.changed = changed
        self.error = error
    }
}
