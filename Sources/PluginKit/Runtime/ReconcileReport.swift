/// What changed when a scope reconciled to new settings.
public struct ReconcileReport: Sendable, Equatable {
    /// Plugins newly attached.
    public var attached: Set<PluginId>
    /// Plugins detached.
    public var detached: Set<PluginId>
    /// Plugins told about the new settings through `onPluginSettingsChanged`: every plugin
    /// attached after the update, whether or not its own configuration changed.
    public var changed: Set<PluginId>

    /// Creates a report.
    public init(attached: Set<PluginId> = [], detached: Set<PluginId> = [], changed: Set<PluginId> = []) {
        self.attached = attached
        self.detached = detached
        self.changed = changed
    }

    /// Whether no plugin was attached, detached or told anything.
    public var isEmpty: Bool { attached.isEmpty && detached.isEmpty && changed.isEmpty }
}

/// A reconciliation that failed and was rolled back; carries every lifecycle error.
public struct ReconcileFailure: Error, Sendable, CustomStringConvertible {
    /// The scope that failed.
    public let scope: String
    /// The phases that failed, with their plugins.
    public let errors: [LifecycleError]

    public var description: String {
        "settings rejected by \(scope), rolled back: " + errors.map(\.description).joined(separator: " | ")
    }
}
