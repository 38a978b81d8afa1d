import Logging

/// One session's sealed scope: its own registry, bus, context and enabled plugins, built by the
/// seven steps of a session (parse overrides, decide enablement, fresh registry, register,
/// materialise wildcards, build the context, attach).
///
/// The in-process host wraps one per session; a sandboxed worker process builds exactly one.
/// A scope either starts with every enabled plugin attached or does not exist: when a plugin
/// fails to register or attach, the plugins that did attach are detached, the bus is disposed,
/// and the initializer throws.
public final class SessionScope: Sendable {
    /// The session.
    public let id: SessionID
    /// The plugins' context.
    public let context: SessionPluginContext
    private let engine: ScopeEngine

    /// Builds and starts the scope.
    /// - Parameters:
    ///   - id: the session's id.
    ///   - catalog: the session plugins to build the scope from.
    ///   - settings: the session's settings.
    ///   - globalBus: the global bus as this session reaches it.
    ///   - globalPlugins: ids attached in the global scope, which session plugins may depend on.
    ///   - contextValues: the host's values for this session's context (its context factory's output).
    ///   - unknownReferences: what to do with service overrides naming a service one of this
    ///     session's plugins did not register.
    ///   - logger: the plugins' logger, with the session's id added as `session` metadata.
    /// - Throws: ``SettingsError`` for malformed settings, ``UnknownReferenceError``,
    ///   or ``LifecycleError`` naming the phase and every plugin that failed.
    public init(
        id: SessionID,
        catalog: SessionPluginCatalog,
        settings: RuntimeSettings,
        globalBus: any GlobalBusAccess,
        globalPlugins: Set<PluginID> = [],
        contextValues: ContextValues = ContextValues(),
        unknownReferences: UnknownReferencePolicy = .throwError,
        logger: Logger = Logger(label: "plugin-session", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws {
        try settings.validate()
        var logger = logger
        logger[metadataKey: "session"] = "\(id)"
        let registry = ServiceRegistry()
        let bus = EventBus(label: id.rawValue, scope: .session(id))
        let tracker = SubscriptionTracker()
        let context = SessionPluginContext(sessionID: id, bus: bus, registry: registry, globalBus: globalBus,
                                           settings: settings, logger: logger, tracker: tracker, values: contextValues)
        let members = catalog.entries.map { entry -> ScopeEngine.Member in
            let plugin = entry.make()
            return ScopeEngine.Member(
                id: entry.id, dependencies: entry.dependencies, flags: entry.flags,
                register: { try plugin.register($0, context: context) },
                attach: { try await plugin.attach(context) },
                detach: { try await plugin.detach(context) },
                settingsChanged: { old, new in try await plugin.onPluginSettingsChanged(from: old, to: new, context: context) })
        }
        self.id = id
        self.context = context
        self.engine = ScopeEngine(scope: "session \(id)", members: members, registry: registry, bus: bus, tracker: tracker,
                                  vetting: SettingsVetting(policy: unknownReferences, logger: logger),
                                  publish: { context.settings = $0 }, logger: logger)
        if let failure = try await engine.start(settings: settings, external: globalPlugins, entryPoint: "createSession") {
            _ = await engine.stop()
            throw failure
        }
    }

    /// The session's bus.
    public var bus: EventBus { context.bus }
    /// The session's registry.
    public var registry: ServiceRegistry { context.registry }
    /// Plugins the session's settings enable (intent, before the dependency cascade).
    public var enabledPlugins: Set<PluginID> { get async { engine.enabledPlugins } }
    /// Plugins actually attached.
    public var attachedPlugins: Set<PluginID> { get async { engine.attachedPlugins } }
    /// Problems found while deciding enablement.
    public var problems: [ConfigurationProblem] { engine.problems }
    /// The global plugins the session's dependencies are decided against.
    public var globalPlugins: Set<PluginID> { engine.snapshot?.external ?? [] }

    /// Emits into the session's bus from the host (origin ``EventOrigin/global``).
    public func emit<E: Sendable>(_ event: E, identifier: String? = nil) async throws -> EventEnvelope<E> {
        try await bus.emit(event, identifier: identifier, origin: .global)
    }

    /// Sends a request into the session's bus from the host (origin ``EventOrigin/global``).
    public func request<R: WireRequest>(_ request: R, identifier: String? = nil) async throws -> R.Response {
        try await bus.request(request, identifier: identifier, origin: .global)
    }

    /// Reconciles the session to `settings`; on failure the session is back where it was and the
    /// error thrown.
    /// - Parameters:
    ///   - settings: the settings to move to.
    ///   - globalPlugins: the global plugins attached now; nil keeps the set the session last
    ///     heard of.
    public func reconcile(to settings: RuntimeSettings, globalPlugins: Set<PluginID>? = nil) async throws -> ReconcileReport {
        try settings.validate()
        return try await engine.reconcile(to: settings, external: globalPlugins ?? self.globalPlugins, entryPoint: "updateSessionSettings")
    }

    /// Detaches the plugins (reverse dependency order) and disposes the bus; a second call does
    /// nothing.
    /// - Throws: the aggregated detach failures, after every plugin was detached regardless.
    public func dispose() async throws(LifecycleError) {
        if let failure = await engine.stop() { throw failure }
    }
}
