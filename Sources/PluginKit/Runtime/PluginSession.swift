/// A live session as an app holds it: emit into it, ask it, reconcile it, dispose it.
public final class PluginSession: Sendable {
    /// The session's handle in its host.
    public let handle: any SessionHandle
    private let runtime: PluginRuntime

    init(handle: any SessionHandle, runtime: PluginRuntime) {
        self.handle = handle
        self.runtime = runtime
    }

    /// The session's id.
    public var id: SessionID { handle.id }

    /// Emits into the session's bus (origin ``EventOrigin/global``).
    /// - Throws: ``BusDisposed`` (or the host's error) once the session is gone, or a handler's error.
    @discardableResult
    public func emit<E: WireEvent>(_ event: E, identifier: String? = nil) async throws -> EventEnvelope<E> {
        try await handle.emit(event, identifier: identifier)
    }

    /// Sends a request into the session's bus.
    public func request<R: WireRequest>(_ request: R, identifier: String? = nil) async throws -> R.Response {
        try await handle.request(request, identifier: identifier)
    }

    /// Plugins the session's settings enable (intent, before the dependency cascade).
    public var enabledPlugins: Set<PluginID> { get async { await handle.enabledPlugins() } }
    /// Plugins attached (truth).
    public var attachedPlugins: Set<PluginID> { get async { await handle.attachedPlugins() } }

    /// Reconciles only this session to `settings` (rolled back on failure); it keeps them until
    /// the next runtime-wide update. Refused while another update runs.
    @discardableResult
    public func updateSettings(_ settings: RuntimeSettings) async throws -> ReconcileReport {
        try await runtime.updateSessionSettings(self, to: settings)
    }

    /// Detaches its plugins, disposes its bus and removes it from the runtime's sessions.
    /// - Throws: the plugins' detach failures, after all of that is done regardless.
    public func dispose() async throws {
        runtime.removeSession(id)
        try await handle.dispose()
    }
}
