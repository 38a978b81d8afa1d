import Foundation
import Logging

/// One session's sealed scope: its own registry, bus, context and enabled plugins, built by the
/// seven steps of a session (parse overrides, decide enablement, fresh registry, register,
/// materialise wildcards, build the context, attach).
///
/// The in-process host wraps one per session; a sandboxed worker process builds exactly one.
public final class SessionScope: Sendable {
    /// The session.
    public let id: SessionID
    /// The plugins' context.
    public let context: SessionPluginContext
    /// Lifecycle failures of the start (plugins rolled back); empty when every plugin attached.
    public let startupFailures: [LifecycleError]
    private let engine: ScopeEngine

    /// Builds and starts the scope.
    /// - Parameters:
    ///   - globalPlugins: ids enabled in the global scope, which session plugins may depend on.
    ///   - contextValues: the host's values for this session's context (its context factory's output).
    public init(
        id: SessionID,
        catalog: SessionPluginCatalog,
        settings: RuntimeSettings,
        globalBus: any GlobalBusAccess,
        globalPlugins: Set<PluginId> = [],
        contextValues: ContextValues = ContextValues(),
        logger: Logger = Logger(label: "plugin-session", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws {
        try settings.validate()
        var logger = logger
        logger[metadataKey: "session"] = "\(id)"
        let registry = ServiceRegistry()
        let bus = EventBus(label: id.rawValue)
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
                                  external: { globalPlugins }, logger: logger)
        self.startupFailures = try await engine.start(settings: settings)
    }

    /// The session's bus.
    public var bus: EventBus { context.bus }
    /// The session's registry.
    public var registry: ServiceRegistry { context.registry }
    /// Plugins enabled by settings after the dependency cascade.
    public var enabledPlugins: Set<PluginId> { get async { engine.enabledPlugins } }
    /// Plugins actually attached.
    public var attachedPlugins: Set<PluginId> { get async { engine.attachedPlugins } }
    /// Problems found while deciding enablement.
    public var problems: [ConfigurationProblem] { engine.problems }

    /// Emits into the session's bus.
    public func emit<E: Sendable>(_ event: E, identifier: String? = nil) async throws -> EventEnvelope<E> {
        try await bus.emit(event, identifier: identifier)
    }

    /// Sends a request into the session's bus.
    public func request<R: WireRequest>(_ request: R, identifier: String? = nil) async throws -> R.Response {
        try await bus.request(request, identifier: identifier)
    }

    /// Emits an event known by wire name (JSON payload).
    public func emitEncoded(name: String, payload: Data, identifier: String?) async throws -> EncodedEnvelope {
        try await bus.emitEncoded(name: name, payload: payload, identifier: identifier)
    }

    /// Sends a request known by wire name (JSON payload); returns the JSON answer.
    public func requestEncoded(name: String, payload: Data, identifier: String?) async throws -> Data {
        try await bus.requestEncoded(name: name, payload: payload, identifier: identifier)
    }

    /// Reconciles the session to `settings`; on failure the session is back where it was and the error thrown.
    public func reconcile(to settings: RuntimeSettings) async throws -> ReconcileReport {
        try settings.validate()
        let old = context.settings
        // Plugins attaching during the reconciliation read their new configuration from the context.
        context.settings = settings
        do {
            return try await engine.reconcile(to: settings)
        } catch {
            context.settings = old
            throw error
        }
    }

    /// Detaches the plugins (reverse order) and disposes the bus.
    @discardableResult
    public func dispose() async -> [LifecycleError] {
        await engine.stop()
    }
}
