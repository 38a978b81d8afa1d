/// The steps a scope's lifecycle is made of, one plugin at a time. Each returns what failed
/// instead of throwing, so one plugin's failure never stops the others.
extension ScopeEngine {
    /// Registers `ids` in order; a plugin whose `register` throws has its partial registrations removed.
    func register(_ ids: [PluginID]) -> (registered: [PluginID], failures: [PluginID: String]) {
        var registered: [PluginID] = []
        var failures: [PluginID: String] = [:]
        for id in ids {
            guard let member = membersByID[id] else { continue }
            do {
                try member.register(registry)
                registered.append(id)
            } catch {
                registry.unregisterAll(plugin: id)
                failures[id] = "\(error)"
            }
        }
        return (registered, failures)
    }

    /// Attaches the plugin's enabled stateful services, then the plugin itself. One service
    /// failing stops neither its peers nor the plugin; any failure rolls the whole plugin back
    /// (detached, subscriptions cancelled, services unregistered) and is returned.
    func attachPlugin(_ id: PluginID) async -> String? {
        guard let member = membersByID[id] else { return nil }
        var steps: [String] = []
        for stateful in registry.statefulServices(of: id) where stateful.isEnabled {
            do {
                try await registry.attach(stateful, bus: bus)
            } catch {
                steps.append("\(stateful.serviceId).attach: \(error)")
            }
        }
        do {
            try await member.attach()
        } catch {
            steps.append("\(error)")
        }
        guard !steps.isEmpty else { return nil }
        _ = await detachPlugin(id)
        return steps.joined(separator: "; ")
    }

    /// Detaches the plugin, then its attached stateful services; cancels its subscriptions and
    /// unregisters its services whatever fails. Returns the failures.
    func detachPlugin(_ id: PluginID) async -> String? {
        guard let member = membersByID[id] else { return nil }
        var steps: [String] = []
        do {
            try await member.detach()
        } catch {
            steps.append("\(error)")
        }
        for stateful in registry.statefulServices(of: id) where stateful.isAttached {
            do {
                try await registry.detach(stateful)
            } catch {
                steps.append("\(stateful.serviceId).detach: \(error)")
            }
        }
        tracker.cancelAll(for: id)
        registry.unregisterAll(plugin: id)
        return steps.isEmpty ? nil : steps.joined(separator: "; ")
    }

    /// Detaches the stateful services of `ids` that settings now disable and attaches those they
    /// now enable. Returns the failures by plugin.
    func syncServices(of ids: [PluginID]) async -> [PluginID: String] {
        var failures: [PluginID: [String]] = [:]
        for id in ids {
            for stateful in registry.statefulServices(of: id) where stateful.isAttached != stateful.isEnabled {
                do {
                    if stateful.isEnabled {
                        try await registry.attach(stateful, bus: bus)
                    } else {
                        try await registry.detach(stateful)
                    }
                } catch {
                    failures[id, default: []].append("\(stateful.serviceId).\(stateful.isEnabled ? "attach" : "detach"): \(error)")
                }
            }
        }
        return failures.mapValues { $0.joined(separator: "; ") }
    }
}
