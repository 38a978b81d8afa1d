/// Host-specific options for one session, given to `createSession(options:)` and read by the
/// runtime's ``SessionHost`` (a sandboxed host reads its profile and restart policy from its own
/// options type). The in-process host takes none.
public protocol SessionOptions: Sendable {}

/// What a host needs to open a session.
public struct SessionLaunch: Sendable {
    /// The session's id (valid: see ``SessionID/validate()``).
    public let id: SessionID
    /// The session's settings, with unknown ids already vetted by the runtime.
    public let settings: RuntimeSettings
    /// The session plugins on offer.
    public let catalog: SessionPluginCatalog
    /// Global plugins attached now (session plugins may depend on them).
    public let globalPlugins: Set<PluginID>
    /// Host-specific options, if the caller gave any; a host ignores options of a type it does not know.
    public let options: (any SessionOptions)?
    /// What the session's scope does with service overrides naming services its plugins did not register.
    public let unknownReferences: UnknownReferencePolicy
    /// The session's context values, from `createSession(contextFactory:)`. In-process hosts pass them
    /// on; a sandboxed host cannot (closures do not cross processes): its workers build their own
    /// with the factory their host's bootstrap was given.
    public let contextValues: ContextValues
}

/// Where sessions live: in this process, or in sandboxed worker processes. Plugin code is the
/// same for both.
public protocol SessionHost: Sendable {
    /// Builds the session and returns once its plugins are attached.
    /// - Throws: when the session cannot start, including when one of its plugins fails to
    ///   register or attach (the host leaves nothing of the session behind).
    /// - Parameters:
    ///   - launch: what the session is made of: id, settings, catalog, options.
    ///   - global: the global bus, as sessions reach it.
    ///   - runtime: the runtime, for hosts that must tell it a session ended on its own.
    func openSession(_ launch: SessionLaunch, global: EventBus, runtime: PluginRuntime) async throws -> any SessionHandle
}

/// A live session as the runtime holds it.
public protocol SessionHandle: Sendable {
    /// The session's id.
    var id: SessionID { get }
    /// Emits into the session's bus (origin ``EventOrigin/global``); returns the final envelope.
    func emit<E: WireEvent>(_ event: E, identifier: String?) async throws -> EventEnvelope<E>
    /// Sends a request into the session's bus (origin ``EventOrigin/global``).
    func request<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response
    /// Reconciles the session's scope to `settings`, with `globalPlugins` the global plugins
    /// attached at this point of the update (session plugins' dependencies on global plugins are
    /// decided against it); on failure the session is back where it was.
    func reconcile(to settings: RuntimeSettings, globalPlugins: Set<PluginID>) async throws -> ReconcileReport
    /// Plugins the session's settings enable (intent, before the dependency cascade).
    func enabledPlugins() async -> Set<PluginID>
    /// Plugins actually attached.
    func attachedPlugins() async -> Set<PluginID>
    /// Detaches the plugins and ends the session; detach failures are thrown after the cleanup.
    func dispose() async throws
}

/// The default host: each session is a ``SessionScope`` in this process.
public struct InProcessSessionHost: SessionHost {
    /// Creates the host.
    public init() {}

    public func openSession(_ launch: SessionLaunch, global: EventBus, runtime: PluginRuntime) async throws -> any SessionHandle {
        let scope = try await SessionScope(id: launch.id, catalog: launch.catalog, settings: launch.settings,
                                           globalBus: InProcessGlobalBus(bus: global, session: launch.id),
                                           globalPlugins: launch.globalPlugins, contextValues: launch.contextValues,
                                           unknownReferences: launch.unknownReferences)
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

    public func reconcile(to settings: RuntimeSettings, globalPlugins: Set<PluginID>) async throws -> ReconcileReport {
        try await scope.reconcile(to: settings, globalPlugins: globalPlugins)
    }

    public func enabledPlugins() async -> Set<PluginID> { await scope.enabledPlugins }
    public func attachedPlugins() async -> Set<PluginID> { await scope.attachedPlugins }
    public func dispose() async throws { try await scope.dispose() }
}
