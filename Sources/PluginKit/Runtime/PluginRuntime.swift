import Logging
import Synchronization

/// The plugin runtime: the global registry, bus and plugins, and the sessions.
///
/// Sessions live where its ``SessionHost`` puts them: in process by default, or in sandboxed
/// worker processes. Cross-scope traffic is explicit and goes only four ways: global → global
/// (`context.bus`), session → same session (`context.bus`), session → global
/// (`context.globalBus`), global → all sessions (`context.sessions.emit`).
public final class PluginRuntime: Sendable {
    private enum Phase {
        case running
        case updating
        case disposed
    }

    private struct State {
        var phase: Phase = .running
        var settings: RuntimeSettings
        var sessions: [SessionID: PluginSession] = [:]
        var sessionSettings: [SessionID: RuntimeSettings] = [:]
        var listeners: [Int: AsyncStream<RuntimeSettings>.Continuation] = [:]
        var nextListener = 0
    }

    /// The global scope's context (its bus, registry, sessions).
    public let context: GlobalPluginContext
    /// Lifecycle failures of init (plugins rolled back); empty when every global plugin attached.
    public let startupFailures: [LifecycleError]
    private let engine: ScopeEngine
    private let catalog: SessionPluginCatalog
    private let host: any SessionHost
    private let logger: Logger
    private let state: Mutex<State>

    /// Creates the global scope: validates settings, decides enablement, registers, materialises
    /// wildcards, builds the global context and attaches the global plugins.
    public init(
        globalPlugins: [any GlobalPlugin] = [],
        sessionPlugins: SessionPluginCatalog = SessionPluginCatalog([]),
        settings: RuntimeSettings = RuntimeSettings(),
        host: any SessionHost = InProcessSessionHost(),
        globalContextValues: ContextValues = ContextValues(),
        logger: Logger = Logger(label: "plugin-runtime", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws {
        try settings.validate()
        var seen: Set<PluginId> = []
        for plugin in globalPlugins {
            guard seen.insert(plugin.id).inserted else { throw RuntimeError.duplicatePlugin(plugin.id) }
        }
        let sessionIDs = Set(sessionPlugins.pluginIDs)
        for plugin in globalPlugins {
            if let dependency = plugin.dependencies.first(where: sessionIDs.contains) {
                logger.error("configuration error", metadata: ["problem": "\(ConfigurationProblem.globalDependsOnSession(plugin.id, dependency: dependency))"])
            }
        }
        let registry = ServiceRegistry()
        let bus = EventBus(label: "global")
        let tracker = SubscriptionTracker()
        let context = GlobalPluginContext(bus: bus, registry: registry, sessions: SessionBroadcaster(), settings: settings,
                                          logger: logger, tracker: tracker, values: globalContextValues)
        let members = globalPlugins.map { plugin in
            ScopeEngine.Member(
                id: plugin.id, dependencies: plugin.dependencies, flags: plugin.flags,
                register: { try plugin.register($0, context: context) },
                attach: { try await plugin.attach(context) },
                detach: { try await plugin.detach(context) },
                settingsChanged: { old, new in try await plugin.onPluginSettingsChanged(from: old, to: new, context: context) })
        }
        self.context = context
        self.catalog = sessionPlugins
        self.host = host
        self.logger = logger
        self.state = Mutex(State(settings: settings))
        self.engine = ScopeEngine(scope: "global", members: members, registry: registry, bus: bus, tracker: tracker,
                                  external: { [] }, logger: logger)
        self.startupFailures = try await engine.start(settings: settings)
    }

    /// The global bus.
    public var globalBus: EventBus { context.bus }
    /// The global registry.
    public var globalRegistry: ServiceRegistry { context.registry }
    /// The current settings.
    public var settings: RuntimeSettings { state.withLock { $0.settings } }
    /// Global plugins enabled after the cascade (intent).
    public var enabledPlugins: Set<PluginId> { engine.enabledPlugins }
    /// Global plugins attached (truth).
    public var attachedPlugins: Set<PluginId> { engine.attachedPlugins }
    /// Problems found while deciding global enablement.
    public var configurationProblems: [ConfigurationProblem] { engine.problems }

    /// The live sessions, by id order.
    public var sessions: [PluginSession] {
        state.withLock { $0.sessions.values.sorted { $0.id < $1.id } }
    }

    /// The live session `id`.
    public func session(_ id: SessionID) -> PluginSession? { state.withLock { $0.sessions[id] } }

    // MARK: Sessions

    /// Creates a session with the seven steps, in the runtime's host, and lists it in ``sessions``.
    /// - Parameters:
    ///   - attributes: host-specific options, e.g. a sandboxed host's `profile` and `restart`.
    ///   - contextFactory: builds the session context's host-specific values; a plugin that
    ///     `require`s a value the factory did not provide fails with a loud configuration error.
    public func createSession(
        id: SessionID? = nil,
        settings: RuntimeSettings? = nil,
        attributes: [String: String] = [:],
        contextFactory: (@Sendable (SessionID) -> ContextValues)? = nil
    ) async throws -> PluginSession {
        let sessionSettings = settings ?? self.settings
        try sessionSettings.validate()
        let phase = state.withLock { $0.phase }
        if case .disposed = phase { throw RuntimeError.disposed }
        let sessionID = id ?? SessionID.make()
        let launch = SessionLaunch(id: sessionID, settings: sessionSettings, catalog: catalog,
                                   globalPlugins: attachedPlugins, attributes: attributes,
                                   contextValues: contextFactory?(sessionID) ?? ContextValues())
        let handle = try await host.openSession(launch, global: globalBus, runtime: self)
        let session = PluginSession(handle: handle, runtime: self)
        state.withLock { state in
            state.sessions[handle.id] = session
            state.sessionSettings[handle.id] = settings
        }
        context.sessions.add(handle)
        return session
    }

    /// Forgets session `id` (its host calls this when a sandboxed session ends on its own).
    public func removeSession(_ id: SessionID) {
        state.withLock { state in
            state.sessions[id] = nil
            state.sessionSettings[id] = nil
        }
        context.sessions.remove(id)
    }

    // MARK: Settings

    /// Reconciles the global scope and then every live session to `new`, transactionally: if any
    /// scope fails, every scope that changed goes back to the old settings (sessions included),
    /// the stored settings stay the old ones, and the error is thrown. Then publishes `new`.
    ///
    /// Updates are refused while another is running (``RuntimeError/updateInProgress``).
    @discardableResult
    public func updateSettings(_ new: RuntimeSettings) async throws -> [String: ReconcileReport] {
        try new.validate()
        let old: RuntimeSettings = try state.withLock { state in
            switch state.phase {
            case .updating: throw RuntimeError.updateInProgress
            case .disposed: throw RuntimeError.disposed
            case .running:
                state.phase = .updating
                return state.settings
            }
        }
        defer { state.withLock { $0.phase = .running } }
        var reports: [String: ReconcileReport] = [:]
        context.settings = new
        do {
            reports["global"] = try await engine.reconcile(to: new)
        } catch {
            context.settings = old
            throw error
        }
        let targets = state.withLock { state in state.sessions.values.filter { state.sessionSettings[$0.id] == nil } }
        var changed: [PluginSession] = []
        do {
            for session in targets.sorted(by: { $0.id < $1.id }) {
                reports[session.id.rawValue] = try await session.handle.reconcile(to: new)
                changed.append(session)
            }
        } catch {
            logger.warning("settings update failed; rolling back", metadata: ["error": "\(error)"])
            for session in changed.reversed() { _ = try? await session.handle.reconcile(to: old) }
            _ = try? await engine.reconcile(to: old)
            context.settings = old
            throw error
        }
        publish(new)
        return reports
    }

    /// Stores and publishes `new` without reconciling any scope.
    public func updateSettingsSnapshot(_ new: RuntimeSettings) throws {
        try new.validate()
        publish(new)
    }

    /// Every settings snapshot published from now on.
    public var settingsUpdates: AsyncStream<RuntimeSettings> {
        let (stream, continuation) = AsyncStream<RuntimeSettings>.makeStream()
        let key = state.withLock { state -> Int in
            state.nextListener += 1
            state.listeners[state.nextListener] = continuation
            return state.nextListener
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.listeners.removeValue(forKey: key) }
        }
        return stream
    }

    private func publish(_ settings: RuntimeSettings) {
        let listeners = state.withLock { state in
            state.settings = settings
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.yield(settings) }
    }

    // MARK: Disposal

    /// Disposes every session, then detaches the global plugins.
    public func dispose() async {
        let sessions: [PluginSession] = state.withLock { state in
            state.phase = .disposed
            return Array(state.sessions.values)
        }
        for session in sessions { try? await session.dispose() }
        _ = await engine.stop()
        let listeners = state.withLock { state in
            defer { state.listeners.removeAll() }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.finish() }
    }
}
