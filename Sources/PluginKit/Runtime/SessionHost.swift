/// What a host needs to open a session.
public struct SessionLaunch: Sendable {
    /// The session's id.
    public let id: SessionID
    /// The session's settings.
    public let settings: RuntimeSettings
    /// The session plugins on offer.
    public let catalog: SessionPluginCatalog
    /// Global plugins enabled now (session plugins may depend on them).
    public let globalPlugins: Set<PluginId>
    /// Host-specific options (a sandboxed host reads `profile` and `restart`); ignored in process.
    public let attributes: [String: String]
    /// The session's context values, from `createSession(contextFactory:)`. In-process hosts pass them
    /// on; a sandboxed host cannot (closures do not cross processes): its workers build their own
    /// with the factory given to `WorkerMain`.
    public let contextValues: ContextValues
}

/// Where sessions live: in this process, or in sandboxed worker processes. Plugin code is the
/// same for both.
public protocol SessionHost: Sendable {
    /// Builds the session and returns once its plugins are attached.
    /// - Parameters:
    ///   - global: the global bus, as sessions reach it.
    ///   - runtime: the runtime, for hosts that must tell it a session ended on its own.
    func openSession(_ launch: SessionLaunch, global: EventBus, runtime: PluginRuntime) async throws -> any SessionHandle
}

/// A live session as the runtime holds it.
public protocol SessionHandle: Sendable {
    /// The session's id.
    var id: SessionID { get }
    /// Emits into the session's bus; returns the final envelope.
    func emit<E: WireEvent>(_ event: E, identifier: String?) async throws -> EventEnvelope<E>
    /// Sends a request into the session's bus.
    func request<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response
    /// Reconciles the session's scope; on failure it is back where it was.
    func reconcile(to settings: RuntimeSettings) async throws -> ReconcileReport
    /// Plugins enabled after the dependency cascade.
    func enabledPlugins() async -> Set<PluginId>
    /// Plugins actually attached.
    func attachedPlugins() async -> Set<PluginId>
    /// Detaches the plugins and ends the session.
    func dispose() async throws
}

/// The default host: each session is a ``SessionScope`` in this process.
public struct InProcessSessionHost: SessionHost {
    /// Creates the host.
    public init() {}

    public func openSession(_ launch: SessionLaunch, global: EventBus, runtime: PluginRuntime) async throws -> any SessionHandle {
        let scope = try await SessionScope(id: launch.id, catalog: launch.catalog, settings: launch.settings,
                                           globalBus: InProcessGlobalBus(bus: global), globalPlugins: launch.globalPlugins,
                                           contextValues: launch.contextValues)
        return InProcessSessionHandle(scope: scope)
    }
}

/// A ``SessionScope`` as a ``SessionHandle``.
public struct InProcessSessionHandle: SessionHandle {
    /// The scope.
    public let scope: SessionScope

    public var id: SessionID { scope.id }

    public func emit<E: WireEvent>(_ event: E, identifier: String?) async throws -> EventEnvelope<E> {
        try await scope.emit(event, identifier: identifier)
    }

    public func request<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response {
        try await scope.request(request, identifier: identifier)
    }

    public func reconcile(to settings: RuntimeSettings) async throws -> ReconcileReport {
        try await scope.reconcile(to: settings)
    }

    public func enabledPlugins() async -> Set<PluginId> { await scope.enabledPlugins }
    public func attachedPlugins() async -> Set<PluginId> { await scope.attachedPlugins }
    public func dispose() async throws { await scope.dispose() }
}
