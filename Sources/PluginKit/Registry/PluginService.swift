import Synchronization

/// What the registry stamps onto a ``PluginService`` when it resolves it.
public struct ServiceConfiguration: Sendable, Hashable {
    /// The plugin that registered the service.
    public let pluginId: PluginID
    /// The slot it was registered in.
    public let serviceId: ServiceID
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

/// A service with a lifecycle bound to its plugin's and to its own `enabled` setting: attached
/// before its plugin attaches and detached after its plugin detaches; detached when settings
/// disable it and attached again when they enable it. Subscriptions it makes through its
/// ``ServiceContext`` are cancelled after it detaches.
///
/// Registering one as a factory is an error: each resolve would build an instance nobody attaches.
public protocol StatefulPluginService: PluginService {
    /// Binds the service to its scope's context.
    func attach(_ context: ServiceContext) async throws
    /// Unbinds it. An error is reported with its plugin's; the service is detached regardless.
    func detach() async throws
}

/// Metadata attached to a registration, readable without building the service.
public protocol Capability: Sendable {}

/// The scope a stateful service is attached to: the scope's bus, and subscriptions that are
/// cancelled when the service detaches.
public final class ServiceContext: Sendable {
    /// The scope's bus (the global bus, or the session's).
    public let bus: EventBus
    /// The owning plugin.
    public let pluginId: PluginID
    /// The slot the service is registered in.
    public let serviceId: ServiceID
    private let subscriptions = Mutex<[Subscription]>([])

    init(bus: EventBus, pluginId: PluginID, serviceId: ServiceID) {
        self.bus = bus
        self.pluginId = pluginId
        self.serviceId = serviceId
    }

    /// Subscribes on the scope's bus; cancelled automatically when the service detaches.
    @discardableResult
    public func on<E: Sendable>(_ type: E.Type, priority: Priority = .normal, identifier: String? = nil,
                                _ handler: @escaping @Sendable (EventEnvelope<E>) async throws -> Void) -> Subscription {
        track(bus.on(type, priority: priority, identifier: identifier, handler))
    }

    /// Records `subscription` as the service's; it is cancelled when the service detaches.
    @discardableResult
    public func track(_ subscription: Subscription) -> Subscription {
        subscriptions.withLock { $0.append(subscription) }
        return subscription
    }

    func cancelAll() {
        let list = subscriptions.withLock { list in
            defer { list.removeAll() }
            return list
        }
        for subscription in list { subscription.cancel() }
    }
}
