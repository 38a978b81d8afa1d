/// What changed when a scope reconciled to new settings.
public struct ReconcileReport: Sendable, Equatable {
    /// Plugins newly attached.
    public var attached: Set<PluginID>
    /// Plugins detached.
    public var detached: Set<PluginID>
    /// Plugins told about the new settings through `onPluginSettingsChanged`: every plugin
    /// attached after the update, whether or not its own configuration changed.
    public var changed: Set<PluginID>

    /// Creates a report.
    public init(attached: Set<PluginID> = [], detached: Set<PluginID> = [], changed: Set<PluginID> = []) {
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
