/// Flags that change how a plugin's enablement is decided.
public struct PluginFlags: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Always enabled, whatever the settings say.
    public static let locked = PluginFlags(rawValue: 1)
    /// Off unless settings enable it.
    public static let experimental = PluginFlags(rawValue: 2)
}

/// What every plugin declares.
public protocol Plugin: Sendable {
    /// The plugin's id, unique in its scope.
    var id: PluginID { get }
    /// Plugins that must be enabled for this one to be; a session plugin may name global plugins.
    var dependencies: [PluginID] { get }
    /// Locked / experimental.
    var flags: PluginFlags { get }
}

extension Plugin {
    public var dependencies: [PluginID] { [] }
    public var flags: PluginFlags { [] }
}

/// A plugin with one instance per runtime, living in the supervisor: trusted host code.
public protocol GlobalPlugin: Plugin {
    /// Registers the plugin's services in the global registry.
    func register(_ registry: ServiceRegistry, context: GlobalPluginContext) throws
    /// Starts the plugin: subscribe, resolve, begin work.
    func attach(_ context: GlobalPluginContext) async throws
    /// Stops the plugin.
    func detach(_ context: GlobalPluginContext) async throws
    /// Called when the plugin stays enabled across a settings update and its config changed.
    func onPluginSettingsChanged(from old: PluginConfig?, to new: PluginConfig?, context: GlobalPluginContext) async throws
}

extension GlobalPlugin {
    public func register(_ registry: ServiceRegistry, context: GlobalPluginContext) throws {}
    public func attach(_ context: GlobalPluginContext) async throws {}
    public func detach(_ context: GlobalPluginContext) async throws {}
    public func onPluginSettingsChanged(from old: PluginConfig?, to new: PluginConfig?, context: GlobalPluginContext) async throws {}
}

/// A plugin that runs per session; in a sandboxed host, inside the session's confined worker.
public protocol SessionPlugin: Plugin {
    /// Registers the plugin's services in the session's registry.
    func register(_ registry: ServiceRegistry, context: SessionPluginContext) throws
    /// Starts the plugin in its session.
    func attach(_ context: SessionPluginContext) async throws
    /// Stops it.
    func detach(_ context: SessionPluginContext) async throws
    /// Called when the plugin stays enabled across a settings update and its config changed.
    func onPluginSettingsChanged(from old: PluginConfig?, to new: PluginConfig?, context: SessionPluginContext) async throws
}

extension SessionPlugin {
    public func register(_ registry: ServiceRegistry, context: SessionPluginContext) throws {}
    public func attach(_ context: SessionPluginContext) async throws {}
    public func detach(_ context: SessionPluginContext) async throws {}
    public func onPluginSettingsChanged(from old: PluginConfig?, to new: PluginConfig?, context: SessionPluginContext) async throws {}
}

/// The session plugins a runtime offers, as factories: each session (each worker process) gets
/// its own instances.
public struct SessionPluginCatalog: Sendable {
    /// One entry: the plugin's declaration and how to build it.
    public struct Entry: Sendable {
        public let id: PluginID
        public let dependencies: [PluginID]
        public let flags: PluginFlags
        public let make: @Sendable () -> any SessionPlugin
    }

    /// The entries, in declaration order.
    public let entries: [Entry]

    /// A catalog of `factories`; each is called once here to read the plugin's declaration.
    public init(_ factories: [@Sendable () -> any SessionPlugin]) {
        entries = factories.map { make in
            let sample = make()
            return Entry(id: sample.id, dependencies: sample.dependencies, flags: sample.flags, make: make)
        }
    }

    /// The ids offered.
    public var pluginIDs: [PluginID] { entries.map(\.id) }
}
