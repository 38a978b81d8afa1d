import Logging
import Synchronization

/// What changed when a scope reconciled to new settings.
public struct ReconcileReport: Sendable, Equatable {
    /// Plugins newly attached.
    public var attached: Set<PluginId>
    /// Plugins detached.
    public var detached: Set<PluginId>
    /// Plugins that stayed and were told their settings changed.
    public var changed: Set<PluginId>

    /// Creates a report.
    public init(attached: Set<PluginId> = [], detached: Set<PluginId> = [], changed: Set<PluginId> = []) {
        self.attached = attached
        self.detached = detached
        self.changed = changed
    }

    /// Whether nothing changed.
    public var isEmpty: Bool { attached.isEmpty && detached.isEmpty && changed.isEmpty }
}

/// The lifecycle machinery one scope (the global scope, or one session) runs on: enablement,
/// register → attach → detach, settings reconciliation with rollback. Plugin calls come in as
/// closures, so global and session scopes share it.
final class ScopeEngine: Sendable {
    struct Member: Sendable {
        let id: PluginId
        let dependencies: [PluginId]
        let flags: PluginFlags
        let register: @Sendable (ServiceRegistry) throws -> Void
        let attach: @Sendable () async throws -> Void
        let detach: @Sendable () async throws -> Void
        let settingsChanged: @Sendable (PluginConfig?, PluginConfig?) async throws -> Void
    }

    private enum Phase {
        case idle
        case running(RuntimeSettings)
        case reconciling(RuntimeSettings)
        case disposed
    }

    private struct State {
        var phase: Phase = .idle
        var enabled: Set<PluginId> = []
        var attached: Set<PluginId> = []
        var problems: [ConfigurationProblem] = []
    }

    let scope: String
    let registry: ServiceRegistry
    let bus: EventBus
    let tracker: SubscriptionTracker
    private let members: [Member]
    private let external: @Sendable () -> Set<PluginId>
    private let logger: Logger
    private let state = Mutex(State())

    init(scope: String, members: [Member], registry: ServiceRegistry, bus: EventBus, tracker: SubscriptionTracker,
         external: @escaping @Sendable () -> Set<PluginId>, logger: Logger) {
        self.scope = scope
        self.members = members
        self.registry = registry
        self.bus = bus
        self.tracker = tracker
        self.external = external
        self.logger = logger
    }

    var enabledPlugins: Set<PluginId> { state.withLock { $0.enabled } }
    var attachedPlugins: Set<PluginId> { state.withLock { $0.attached } }
    var problems: [ConfigurationProblem] { state.withLock { $0.problems } }

    var settings: RuntimeSettings? {
        state.withLock { state in
            switch state.phase {
            case .running(let settings), .reconciling(let settings): return settings
            case .idle, .disposed: return nil
            }
        }
    }

    private var enablementMembers: [Enablement.Member] {
        members.map { Enablement.Member(id: $0.id, dependencies: $0.dependencies, flags: $0.flags) }
    }

    private func member(_ id: PluginId) -> Member? { members.first { $0.id == id } }

    /// Steps 1–7: parse overrides, decide enablement, register, materialise wildcards, attach.
    /// Plugins that fail to register or attach are rolled back; the aggregated failures are returned.
    func start(settings: RuntimeSettings) async throws -> [LifecycleError] {
        let overrides = try settings.parsedServices()
        let (enabled, problems) = Enablement.decide(enablementMembers, settings: settings, external: external())
        for problem in problems { logger.warning("plugin configuration problem", metadata: ["problem": "\(problem)", "scope": "\(scope)"]) }
        state.withLock { state in
            state.phase = .running(settings)
            state.problems = problems
        }
        let order = Enablement.order(enabled, members: enablementMembers)
        var failures: [LifecycleError] = []
        let registered = register(order, failures: &failures)
        registry.apply(overrides: overrides)
        state.withLock { $0.enabled = Set(registered) }
        let attached = await attach(registered, failures: &failures)
        // A plugin that failed to attach was rolled back: it leaves the enabled set too.
        state.withLock { state in
            state.attached = Set(attached)
            state.enabled.subtract(Set(registered).subtracting(attached))
        }
        return failures
    }

    /// Moves the scope to `new`: detaches what turned off, attaches what turned on, tells survivors
    /// whose config changed. On any failure every step is undone and the error thrown.
    func reconcile(to new: RuntimeSettings) async throws -> ReconcileReport {
        let overrides = try new.parsedServices()
        let old: RuntimeSettings = try state.withLock { state in
            switch state.phase {
            case .running(let settings):
                state.phase = .reconciling(settings)
                return settings
            case .reconciling: throw RuntimeError.updateInProgress
            case .idle, .disposed: throw RuntimeError.disposed
            }
        }
        let before = attachedPlugins
        let (target, problems) = Enablement.decide(enablementMembers, settings: new, external: external())
        let toDetach = before.subtracting(target)
        let toAttach = target.subtracting(before)
        let survivors = before.intersection(target).filter { old.plugins[$0] != new.plugins[$0] }
        var failures: [LifecycleError] = []

        let detachOrder = Enablement.order(toDetach, members: enablementMembers).reversed()
        let detached = await detach(Array(detachOrder), failures: &failures)
        registry.apply(overrides: overrides)
        let registered = register(Enablement.order(toAttach, members: enablementMembers), failures: &failures)
        let attached = await attach(registered, failures: &failures)
        var told: [PluginId] = []
        var changeFailures: [PluginId: String] = [:]
        for id in survivors.sorted() {
            do {
                try await member(id)?.settingsChanged(old.plugins[id], new.plugins[id])
                told.append(id)
            } catch {
                changeFailures[id] = "\(error)"
            }
        }
        if !changeFailures.isEmpty { failures.append(LifecycleError(phase: .settingsChanged, failures: changeFailures, scope: scope)) }

        if failures.isEmpty {
            state.withLock { state in
                state.attached = before.subtracting(detached).union(attached)
                state.enabled = state.attached
                state.problems = problems
                state.phase = .running(new)
            }
            return ReconcileReport(attached: Set(attached), detached: Set(detached), changed: Set(told))
        }

        // Undo: newly attached go, detached come back, survivors hear the old settings again.
        var ignored: [LifecycleError] = []
        _ = await detach(Array(attached.reversed()), failures: &ignored)
        for id in registered where !attached.contains(id) { registry.unregisterAll(plugin: id) }
        registry.apply(overrides: (try? old.parsedServices()) ?? [:])
        let restored = register(Enablement.order(Set(detached), members: enablementMembers), failures: &ignored)
        _ = await attach(restored, failures: &ignored)
        for id in told { try? await member(id)?.settingsChanged(new.plugins[id], old.plugins[id]) }
        state.withLock { state in
            state.attached = before
            state.enabled = before
            state.phase = .running(old)
        }
        throw ReconcileFailure(scope: scope, errors: failures)
    }

    /// Detaches everything (reverse dependency order), cancels subscriptions, disposes the bus.
    func stop() async -> [LifecycleError] {
        let attached: Set<PluginId>? = state.withLock { state in
            if case .disposed = state.phase { return nil }
            state.phase = .disposed
            return state.attached
        }
        guard let attached else { return [] }
        var failures: [LifecycleError] = []
        _ = await detach(Array(Enablement.order(attached, members: enablementMembers).reversed()), failures: &failures)
        state.withLock { state in
            state.attached = []
            state.enabled = []
        }
        bus.dispose()
        return failures
    }

    // MARK: Steps

    private func register(_ ids: [PluginId], failures: inout [LifecycleError]) -> [PluginId] {
        var done: [PluginId] = []
        var failed: [PluginId: String] = [:]
        for id in ids {
            guard let member = member(id) else { continue }
            do {
                try member.register(registry)
                done.append(id)
            } catch {
                registry.unregisterAll(plugin: id)
                failed[id] = "\(error)"
            }
        }
        if !failed.isEmpty { failures.append(LifecycleError(phase: .register, failures: failed, scope: scope)) }
        return done
    }

    private func attach(_ ids: [PluginId], failures: inout [LifecycleError]) async -> [PluginId] {
        var done: [PluginId] = []
        var failed: [PluginId: String] = [:]
        for id in ids {
            guard let member = member(id) else { continue }
            do {
                try await member.attach()
                for (entry, service) in registry.statefulServices(of: id) {
                    try await service.attach(ServiceContext(bus: bus, pluginId: id, tracker: tracker))
                    entry.mutable.withLock { $0.attached = true }
                }
                done.append(id)
            } catch {
                // Roll the failed plugin back: its services and subscriptions go, it is not attached.
                for (entry, service) in registry.statefulServices(of: id) where entry.mutable.withLock({ $0.attached }) {
                    await service.detach()
                    entry.mutable.withLock { $0.attached = false }
                }
                tracker.cancelAll(for: id)
                registry.unregisterAll(plugin: id)
                failed[id] = "\(error)"
            }
        }
        if !failed.isEmpty {
            let error = LifecycleError(phase: .attach, failures: failed, scope: scope)
            logger.error("plugins failed to attach and were rolled back", metadata: ["error": "\(error)"])
            failures.append(error)
        }
        return done
    }

    private func detach(_ ids: [PluginId], failures: inout [LifecycleError]) async -> [PluginId] {
        var done: [PluginId] = []
        var failed: [PluginId: String] = [:]
        for id in ids {
            guard let member = member(id) else { continue }
            for (entry, service) in registry.statefulServices(of: id) where entry.mutable.withLock({ $0.attached }) {
                await service.detach()
                entry.mutable.withLock { $0.attached = false }
            }
            do {
                try await member.detach()
            } catch {
                failed[id] = "\(error)"
            }
            tracker.cancelAll(for: id)
            registry.unregisterAll(plugin: id)
            done.append(id)
        }
        if !failed.isEmpty { failures.append(LifecycleError(phase: .detach, failures: failed, scope: scope)) }
        return done
    }
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
