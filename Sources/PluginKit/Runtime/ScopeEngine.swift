import Logging
import Synchronization

/// The lifecycle machinery one scope (the global scope, or one session) runs on: enablement,
/// register → attach → detach, settings reconciliation with rollback. Plugin calls come in as
/// closures, so global and session scopes share it.
final class ScopeEngine: Sendable {
    struct Member: Sendable {
        let id: PluginID
        let dependencies: [PluginID]
        let flags: PluginFlags
        let register: @Sendable (ServiceRegistry) throws -> Void
        let attach: @Sendable () async throws -> Void
        let detach: @Sendable () async throws -> Void
        let settingsChanged: @Sendable (PluginConfig?, PluginConfig?) async throws -> Void
    }

    /// The settings a scope runs on, and the outer scope's plugins that satisfy dependencies.
    struct Snapshot: Sendable {
        let settings: RuntimeSettings
        let external: Set<PluginID>
    }

    private enum Phase {
        case idle
        case running(Snapshot)
        case reconciling(Snapshot)
        case disposed
    }

    private struct State {
        var phase: Phase = .idle
        var attached: Set<PluginID> = []
        var problems: [ConfigurationProblem] = []
    }

    let scope: String
    let registry: ServiceRegistry
    let bus: EventBus
    let tracker: SubscriptionTracker
    let members: [Member]
    let membersByID: [PluginID: Member]
    let vetting: SettingsVetting
    let logger: Logger
    /// Hands the settings in force to the scope's context (plugins attaching read them there).
    private let publish: @Sendable (RuntimeSettings) -> Void
    private let state = Mutex(State())

    init(scope: String, members: [Member], registry: ServiceRegistry, bus: EventBus, tracker: SubscriptionTracker,
         vetting: SettingsVetting, publish: @escaping @Sendable (RuntimeSettings) -> Void, logger: Logger) {
        self.scope = scope
        self.members = members
        self.membersByID = Dictionary(members.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.registry = registry
        self.bus = bus
        self.tracker = tracker
        self.vetting = vetting
        self.publish = publish
        self.logger = logger
    }

    /// The plugins the current settings enable, before the dependency cascade (intent).
    var enabledPlugins: Set<PluginID> {
        guard let settings = snapshot?.settings else { return [] }
        return Enablement.intended(enablementMembers, settings: settings)
    }

    /// The plugins attached (truth).
    var attachedPlugins: Set<PluginID> { state.withLock { $0.attached } }
    /// Problems found while deciding enablement.
    var problems: [ConfigurationProblem] { state.withLock { $0.problems } }

    var snapshot: Snapshot? {
        state.withLock { state in
            switch state.phase {
            case .running(let snapshot), .reconciling(let snapshot): return snapshot
            case .idle, .disposed: return nil
            }
        }
    }

    var isDisposed: Bool {
        state.withLock { state in
            if case .disposed = state.phase { return true }
            return false
        }
    }

    var enablementMembers: [Enablement.Member] {
        members.map { Enablement.Member(id: $0.id, dependencies: $0.dependencies, flags: $0.flags) }
    }

    // MARK: Start

    /// Steps 1–7: parse overrides, decide enablement, register, materialise wildcards, attach.
    ///
    /// A `register` failure aborts the pass: every registration is rolled back, the bus is
    /// disposed and the aggregated error thrown. A plugin that fails to attach is rolled back on
    /// its own; the aggregated attach failures are returned (nil when every plugin attached).
    func start(settings: RuntimeSettings, external: Set<PluginID>, entryPoint: String) async throws -> LifecycleError? {
        let overrides = try ServiceOverrides(parsing: settings)
        let (enabled, problems) = Enablement.decide(enablementMembers, settings: settings, external: external)
        report(problems)
        state.withLock { state in
            state.phase = .running(Snapshot(settings: settings, external: external))
            state.problems = problems
        }
        publish(settings)
        let order = Enablement.order(enabled, members: enablementMembers)
        let (registered, registerFailures) = register(order)
        do {
            guard registerFailures.isEmpty else { throw LifecycleError(phase: .register, failures: registerFailures, scope: scope) }
            registry.apply(overrides: try vetting.vetServiceIDs(overrides, scoped: Set(membersByID.keys), registry: registry, entryPoint: entryPoint))
        } catch {
            for id in registered { registry.unregisterAll(plugin: id) }
            abandon()
            throw error
        }
        var attached: [PluginID] = []
        var failures: [PluginID: String] = [:]
        for id in registered {
            if let failure = await attachPlugin(id) { failures[id] = failure } else { attached.append(id) }
        }
        state.withLock { $0.attached = Set(attached) }
        guard !failures.isEmpty else { return nil }
        let error = LifecycleError(phase: .attach, failures: failures, scope: scope)
        logger.error("plugins failed to attach and were rolled back", metadata: ["error": "\(error)"])
        return error
    }

    // MARK: Reconcile

    /// Moves the scope to `new`: detaches what turned off, attaches what turned on, detaches and
    /// attaches stateful services whose `enabled` setting flipped, then tells every attached
    /// plugin about the new settings. On any failure every step is undone and the error thrown.
    /// If the scope is stopped meanwhile, what this pass attached is detached again and
    /// ``RuntimeError/disposed`` thrown.
    func reconcile(to new: RuntimeSettings, external: Set<PluginID>, entryPoint: String) async throws -> ReconcileReport {
        let overrides = try ServiceOverrides(parsing: new)
        let old: Snapshot = try state.withLock { state in
            switch state.phase {
            case .running(let snapshot):
                state.phase = .reconciling(snapshot)
                return snapshot
            case .reconciling: throw RuntimeError.updateInProgress
            case .idle, .disposed: throw RuntimeError.disposed
            }
        }
        let before = attachedPlugins
        let (target, problems) = Enablement.decide(enablementMembers, settings: new, external: external)
        let survivors = before.intersection(target)
        var pass = Pass()
        publish(new)

        for id in order(before.subtracting(target)).reversed() {
            if let failure = await detachPlugin(id) { pass.failures[.detach, default: [:]][id] = failure }
            pass.detached.append(id)
        }
        let (registered, registerFailures) = register(order(target.subtracting(before)))
        pass.registered = registered
        if !registerFailures.isEmpty { pass.failures[.register] = registerFailures }
        do {
            registry.apply(overrides: try vetting.vetServiceIDs(overrides, scoped: Set(membersByID.keys), registry: registry, entryPoint: entryPoint))
        } catch {
            pass.refusal = error
        }
        if pass.refusal == nil {
            let serviceFailures = await syncServices(of: order(survivors))
            if !serviceFailures.isEmpty { pass.failures[.reconcile] = serviceFailures }
            for id in registered {
                if let failure = await attachPlugin(id) { pass.failures[.attach, default: [:]][id] = failure } else { pass.attached.append(id) }
            }
        }
        let now = before.subtracting(pass.detached).union(pass.attached)
        if pass.isClean {
            for id in order(now) {
                do {
                    try await membersByID[id]?.settingsChanged(old.settings.plugins[id], new.plugins[id])
                    pass.told.append(id)
                } catch {
                    pass.failures[.settingsChanged, default: [:]][id] = "\(error)"
                }
            }
        }

        if isDisposed {
            for id in pass.attached.reversed() { _ = await detachPlugin(id) }
            throw RuntimeError.disposed
        }
        guard !pass.isClean else {
            finish(attached: now, problems: problems, snapshot: Snapshot(settings: new, external: external))
            return ReconcileReport(attached: Set(pass.attached), detached: Set(pass.detached), changed: Set(pass.told))
        }
        await undo(pass, from: new, back: old, survivors: survivors)
        if let refusal = pass.refusal, pass.failures.isEmpty { throw refusal }
        throw ReconcileFailure(scope: scope, errors: pass.lifecycleErrors(scope: scope))
    }

    /// What one reconciliation did, so a failure can be undone.
    private struct Pass {
        var detached: [PluginID] = []
        var registered: [PluginID] = []
        var attached: [PluginID] = []
        var told: [PluginID] = []
        var failures: [LifecyclePhase: [PluginID: String]] = [:]
        var refusal: (any Error)?

        var isClean: Bool { failures.isEmpty && refusal == nil }

        func lifecycleErrors(scope: String) -> [LifecycleError] {
            [LifecyclePhase.detach, .register, .reconcile, .attach, .settingsChanged].compactMap { phase in
                failures[phase].map { LifecycleError(phase: phase, failures: $0, scope: scope) }
            }
        }
    }

    /// Brings the scope back to `old`: survivors hear the old settings, what this pass attached
    /// goes, what it detached comes back, and services follow the old overrides.
    private func undo(_ pass: Pass, from new: RuntimeSettings, back old: Snapshot, survivors: Set<PluginID>) async {
        publish(old.settings)
        for id in pass.told.reversed() where survivors.contains(id) {
            try? await membersByID[id]?.settingsChanged(new.plugins[id], old.settings.plugins[id])
        }
        for id in pass.attached.reversed() { _ = await detachPlugin(id) }
        for id in pass.registered where !pass.attached.contains(id) { registry.unregisterAll(plugin: id) }
        let (restored, _) = register(order(Set(pass.detached)))
        let oldOverrides = (try? ServiceOverrides(parsing: old.settings)) ?? ServiceOverrides()
        let quiet = SettingsVetting(policy: .ignore, logger: logger)
        registry.apply(overrides: (try? quiet.vetServiceIDs(oldOverrides, scoped: Set(membersByID.keys), registry: registry, entryPoint: "rollback")) ?? oldOverrides)
        _ = await syncServices(of: order(survivors))
        var back = survivors
        for id in restored {
            if await attachPlugin(id) == nil { back.insert(id) }
        }
        let problems = Enablement.decide(enablementMembers, settings: old.settings, external: old.external).problems
        finish(attached: back, problems: problems, snapshot: old)
    }

    private func finish(attached: Set<PluginID>, problems: [ConfigurationProblem], snapshot: Snapshot) {
        state.withLock { state in
            if case .disposed = state.phase { return }
            state.attached = attached
            state.problems = problems
            state.phase = .running(snapshot)
        }
    }

    // MARK: Stop

    /// Detaches everything (reverse dependency order), cancels subscriptions, disposes the bus.
    /// Returns the aggregated detach failures; every plugin is detached regardless.
    func stop() async -> LifecycleError? {
        let attached: Set<PluginID>? = state.withLock { state in
            if case .disposed = state.phase { return nil }
            state.phase = .disposed
            return state.attached
        }
        guard let attached else { return nil }
        var failures: [PluginID: String] = [:]
        for id in order(attached).reversed() {
            if let failure = await detachPlugin(id) { failures[id] = failure }
        }
        state.withLock { $0.attached = [] }
        bus.dispose()
        return failures.isEmpty ? nil : LifecycleError(phase: .detach, failures: failures, scope: scope)
    }

    /// Ends a start that failed before anything attached.
    private func abandon() {
        state.withLock { state in
            state.phase = .disposed
            state.attached = []
        }
        bus.dispose()
    }

    func order(_ ids: Set<PluginID>) -> [PluginID] {
        Enablement.order(ids, members: enablementMembers)
    }

    private func report(_ problems: [ConfigurationProblem]) {
        for problem in problems {
            if case .cycle = problem {
                logger.error("plugin dependency cycle", metadata: ["problem": "\(problem)", "scope": "\(scope)"])
            } else {
                logger.warning("plugin configuration problem", metadata: ["problem": "\(problem)", "scope": "\(scope)"])
            }
        }
    }
}
