/// What the registry stamps onto a ``PluginService`` when it resolves it.
public struct ServiceConfiguration: Sendable, Hashable {
    /// The plugin that registered the service.
    public let pluginId: PluginId
    /// The slot it was registered in.
    public let serviceId: ServiceId
    /// Its effective configuration (plugin-specific override, else the wildcard's).
    public let config: ConfigNode
}

/// A service that receives its configuration and its registry-stamped identity on resolve.
///
/// Singletons are re-configured only when their effective settings changed; factories on every resolve.
public protocol PluginService: AnyObject, Sendable {
    /// Called by the registry before the service is handed out.
    func configure(_ configuration: ServiceConfiguration)
}

/// A service with a lifecycle bound to its plugin's: attached after the plugin attaches, detached
/// before it detaches. Subscriptions it makes through `context` are cancelled after detach.
///
/// Registering one as a factory is an error: each resolve would build an instance nobody attaches.
public protocol StatefulPluginService: PluginService {
    /// Binds the service to its scope's context.
    func attach(_ context: ServiceContext) async throws
    /// Unbinds it.
    func detach() async
}

/// Metadata attached to a registration, readable without building the service.
public protocol Capability: Sendable {}

/// The scope a stateful service is attached to: the scope's bus, and tracked subscriptions.
public final class ServiceContext: Sendable {
    /// The scope's bus (the global bus, or the session's).
    public let bus: EventBus
    /// The owning plugin.
    public let pluginId: PluginId
    let tracker: SubscriptionTracker

    init(bus: EventBus, pluginId: PluginId, tracker: SubscriptionTracker) {
        self.bus = bus
        self.pluginId = pluginId
        self.tracker = tracker
    }

    /// Subscribes on the scope's bus; cancelled automatically when the service detaches.
    @discardableResult
    public func on<E: Sendable>(_ type: E.Type, priority: Priority = .normal, identifier: String? = nil,
                                _ handler: @escaping @Sendable (EventEnvelope<E>) async throws -> Void) -> Subscription {
        tracker.track(bus.on(type, priority: priority, identifier: identifier, handler), for: pluginId)
    }
}
