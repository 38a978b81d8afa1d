import Logging
import Synchronization

/// What a session plugin sees of its session: the session's own bus and registry, the global bus
/// (only wire events cross), the settings, a logger.
public final class SessionPluginContext: PluginContext {
    /// The session.
    public let sessionID: SessionID
    /// The session's own bus.
    public let bus: EventBus
    /// The session's own registry.
    public let registry: ServiceRegistry
    /// The global scope, reached explicitly.
    public let globalBus: any GlobalBusAccess
    /// The session's logger.
    public let logger: Logger
    /// Host-specific values, from the host's session context factory.
    public let values: ContextValues
    let tracker: SubscriptionTracker
    private let currentSettings: Mutex<RuntimeSettings>

    init(sessionID: SessionID, bus: EventBus, registry: ServiceRegistry, globalBus: any GlobalBusAccess,
         settings: RuntimeSettings, logger: Logger, tracker: SubscriptionTracker, values: ContextValues) {
        self.sessionID = sessionID
        self.values = values
        self.bus = bus
        self.registry = registry
        self.globalBus = globalBus
        self.logger = logger
        self.tracker = tracker
        self.currentSettings = Mutex(settings)
    }

    /// The session's current settings.
    public var settings: RuntimeSettings {
        get { currentSettings.withLock { $0 } }
        set { currentSettings.withLock { $0 = newValue } }
    }

    /// `plugin`'s configuration.
    public func config(for plugin: PluginID) -> ConfigNode { ConfigNode(settings.plugins[plugin]?.config ?? [:]) }

    /// Records `subscription` as `plugin`'s; it is cancelled after the plugin detaches.
    @discardableResult
    public func track(_ subscription: Subscription, for plugin: PluginID) -> Subscription {
        tracker.track(subscription, for: plugin)
    }

}

/// What a global plugin sees: the global bus and registry, every live session, settings, a logger.
public final class GlobalPluginContext: PluginContext {
    /// The global bus.
    public let bus: EventBus
    /// The global registry.
    public let registry: ServiceRegistry
    /// Broadcasts to every live session.
    public let sessions: SessionBroadcaster
    /// The runtime's logger.
    public let logger: Logger
    /// Host-specific values, from the runtime's global context factory.
    public let values: ContextValues
    let tracker: SubscriptionTracker
    private let currentSettings: Mutex<RuntimeSettings>

    init(bus: EventBus, registry: ServiceRegistry, sessions: SessionBroadcaster, settings: RuntimeSettings,
         logger: Logger, tracker: SubscriptionTracker, values: ContextValues) {
        self.bus = bus
        self.values = values
        self.registry = registry
        self.sessions = sessions
        self.logger = logger
        self.tracker = tracker
        self.currentSettings = Mutex(settings)
    }

    /// The runtime's current settings.
    public var settings: RuntimeSettings {
        get { currentSettings.withLock { $0 } }
        set { currentSettings.withLock { $0 = newValue } }
    }

    /// `plugin`'s configuration.
    public func config(for plugin: PluginID) -> ConfigNode { ConfigNode(settings.plugins[plugin]?.config ?? [:]) }

    /// Records `subscription` as `plugin`'s; it is cancelled after the plugin detaches.
    @discardableResult
    public func track(_ subscription: Subscription, for plugin: PluginID) -> Subscription {
        tracker.track(subscription, for: plugin)
    }

}

/// What global and session contexts share: a bus, and subscriptions tracked per plugin.
public protocol PluginContext: Sendable {
    /// The scope's bus: the global bus, or the session's own.
    var bus: EventBus { get }
    /// Records `subscription` as `plugin`'s; it is cancelled after the plugin detaches.
    @discardableResult
    func track(_ subscription: Subscription, for plugin: PluginID) -> Subscription
}

extension PluginContext {
    /// Subscribes on the scope's bus on behalf of `plugin`; cancelled after the plugin detaches.
    @discardableResult
    public func on<E: Sendable>(_ type: E.Type, for plugin: PluginID, priority: Priority = .normal, identifier: String? = nil,
                                _ handler: @escaping @Sendable (EventEnvelope<E>) async throws -> Void) -> Subscription {
        track(bus.on(type, priority: priority, identifier: identifier, handler), for: plugin)
    }

    /// Subscribes to a wire event on the scope's bus on behalf of `plugin`; cancelled after the plugin detaches.
    @discardableResult
    public func on<E: WireEvent>(_ type: E.Type, for plugin: PluginID, priority: Priority = .normal, identifier: String? = nil,
                                 _ handler: @escaping @Sendable (EventEnvelope<E>) async throws -> Void) -> Subscription {
        track(bus.on(type, priority: priority, identifier: identifier, handler), for: plugin)
    }

    /// Answers a wire request on the scope's bus on behalf of `plugin`.
    @discardableResult
    public func onRequest<R: WireRequest>(_ type: R.Type, for plugin: PluginID, priority: Priority = .normal, identifier: String? = nil,
                                          _ handler: @escaping @Sendable (R) async throws -> R.Response?) -> Subscription {
        track(bus.onRequest(type, priority: priority, identifier: identifier, handler), for: plugin)
    }

    /// Answers a wire request on the scope's bus on behalf of `plugin`, learning where each request came from.
    @discardableResult
    public func onRequest<R: WireRequest>(_ type: R.Type, for plugin: PluginID, priority: Priority = .normal, identifier: String? = nil,
                                          _ handler: @escaping @Sendable (R, RequestContext) async throws -> R.Response?) -> Subscription {
        track(bus.onRequest(type, priority: priority, identifier: identifier, handler), for: plugin)
    }
}
