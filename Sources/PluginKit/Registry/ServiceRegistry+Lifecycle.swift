/// Attaching and detaching a plugin's stateful services, as its scope's lifecycle drives them.
extension ServiceRegistry {
    /// A stateful singleton of one plugin, with whether settings leave it enabled.
    struct StatefulService {
        let entry: Entry
        let isEnabled: Bool
        var serviceId: ServiceID { entry.serviceId }
        var isAttached: Bool { entry.isAttached }
        /// The instance (a lazy singleton is built here).
        var service: (any StatefulPluginService)? { entry.builtInstance() as? any StatefulPluginService }
    }

    /// The stateful services `plugin` registered, in registration order.
    func statefulServices(of plugin: PluginID) -> [StatefulService] {
        state.withLock { state in
            state.slots.keys.flatMap { slot in
                state.resolved(slot).filter { $0.entry.pluginId == plugin && $0.entry.isStateful }
            }
            .sorted { $0.entry.sequence < $1.entry.sequence }
            .map { StatefulService(entry: $0.entry, isEnabled: $0.isEnabled) }
        }
    }

    /// Attaches `stateful` to `bus`. On failure its subscriptions are cancelled and it stays detached.
    func attach(_ stateful: StatefulService, bus: EventBus) async throws {
        guard !stateful.isAttached, let service = stateful.service else { return }
        let context = ServiceContext(bus: bus, pluginId: stateful.entry.pluginId, serviceId: stateful.serviceId)
        do {
            try await service.attach(context)
        } catch {
            context.cancelAll()
            throw error
        }
        stateful.entry.mutable.withLock { $0.attachment = context }
    }

    /// Detaches `stateful` and cancels its subscriptions; it ends detached even when `detach` throws.
    func detach(_ stateful: StatefulService) async throws {
        guard let context = stateful.entry.mutable.withLock({ $0.attachment }), let service = stateful.service else { return }
        defer {
            context.cancelAll()
            stateful.entry.mutable.withLock { $0.attachment = nil }
        }
        try await service.detach()
    }
}
