import Synchronization

/// Subscriptions made on a plugin's behalf, cancelled together when the plugin detaches.
final class SubscriptionTracker: Sendable {
    private let subscriptions = Mutex<[PluginID: [Subscription]]>([:])

    /// Records `subscription` as `plugin`'s and returns it.
    @discardableResult
    func track(_ subscription: Subscription, for plugin: PluginID) -> Subscription {
        subscriptions.withLock { $0[plugin, default: []].append(subscription) }
        return subscription
    }

    /// Cancels every subscription of `plugin`.
    func cancelAll(for plugin: PluginID) {
        let list = subscriptions.withLock { $0.removeValue(forKey: plugin) ?? [] }
        for subscription in list { subscription.cancel() }
    }

    /// How many live subscriptions `plugin` has.
    func count(for plugin: PluginID) -> Int {
        subscriptions.withLock { ($0[plugin] ?? []).filter { !$0.isCancelled }.count }
    }
}
