import Logging
import Synchronization

/// The plugin runtime: the global registry, bus and plugins, and the sessions.
///
/// Sessions live where its ``SessionHost`` puts them: in process by default, or in sandboxed
/// worker processes. Cross-scope traffic is explicit and goes only four ways: global → global
/// (`context.bus`), session → same session (`context.bus`), session → global
/// (`context.globalBus`), global → all sessions (`context.sessions.emit`).
public final class PluginRuntime: Sendable {
    enum Phase {
        case running
        case updating
        case disposed
    }

    /// A listed session and the settings it runs on.
    struct Listed {
        let session: PluginSession
        var settings: RuntimeSettings
    }

    struct State {
        var phase: Phase = .running
        var settings: RuntimeSettings
        var sessions: [SessionID: Listed] = [:]
        /// Ids of sessions being opened, so a second session with the same id is refused.
        var opening: Set<SessionID> = []
        var listeners: [Int: AsyncStream<RuntimeSettings>.Continuation] = [:]
        var nextListener = 0
    }

    /// The global scope's context (its bus, registry, sessions).
    public let context: GlobalPluginContext
    /// Global plugins that failed to attach in `init` and were rolled back (the runtime runs
    /// without them); empty when every enabled global plugin attached.
    public let startupFailures: [LifecycleError]
    let engine: ScopeEngine
    let catalog: SessionPluginCatalog
    let host: any SessionHost
    let logger: Logger
    let vetting: SettingsVetting
    /// Every plugin id the runtime knows: global plugins and the session catalog.
    let knownPlugins: Set<PluginID>
    let state: Mutex<State>

    /// Creates the global scope: validates settings, decides enablement, registers, materialises
    /// wildcards, builds the global context and attaches the global plugins.
    ///
    /// A global plugin whose `register` throws aborts the start (every registration is rolled
    /// back) and the initializer throws the aggregated ``LifecycleError``. A plugin whose
    /// `attach` throws is rolled back on its own and listed in ``startupFailures``; the others run.
    /// - Parameters:
    ///   - globalPlugins: the global plugins, one instance each, run in this process.
    ///   - sessionPlugins: the session plugins every session is built from.
    ///   - settings: the settings the runtime starts on.
    ///   - host: where sessions live (in process by default).
    ///   - globalContextValues: the host's values for the global plugins' context.
    ///   - unknownReferences: what to do with settings that name unknown plugins or
    ///     services, here and in every later update and session.
    ///   - logger: the runtime's logger, also the global plugins' `context.logger`.
    /// - Throws: ``RuntimeError/duplicatePlugin(_:)`` when two plugins (global or session) share an
    ///   id, ``SettingsError``, ``UnknownReferenceError``, or ``LifecycleError``.
    public init(
        globalPlugins: [any GlobalPlugin] = [],
        sessionPlugins: SessionPluginCatalog = SessionPluginCatalog([]),
        settings: RuntimeSettings = RuntimeSettings(),
        host: any SessionHost = InProcessSessionHost(),
        globalContextValues: ContextValues = ContextValues(),
        unknownReferences: UnknownReferencePolicy = .throwError,
        logger: Logger = Logger(label: "plugin-runtime", factory: { _ in SwiftLogNoOpLogHandler() })
    ) async throws {
        try settings.validate()
        var seen: Set<PluginID> = []
        for id in globalPlugins.map(\.id) + sessionPlugins.pluginIDs {
            guard seen.insert(id).inserted else { throw RuntimeError.duplicatePlugin(id) }
        }
        let sessionIDs = Set(sessionPlugins.pluginIDs)
        for plugin in globalPlugins {
            if let dependency = plugin.dependencies.first(where: sessionIDs.contains) {
                logger.error("configuration error", metadata: ["problem": "\(ConfigurationProblem.globalDependsOnSession(plugin.id, dependency: dependency))"])
            }
        }
        let vetting = SettingsVetting(policy: unknownReferences, logger: logger)
        let vetted = try vetting.vetPluginIDs(settings, known: seen, entryPoint: "init")
        let registry = ServiceRegistry()
        let bus = EventBus(label: "global", scope: .global)
        let tracker = SubscriptionTracker()
        let context = GlobalPluginContext(bus: bus, registry: registry, sessions: SessionBroadcaster(host: host), settings: vetted,
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
        self.vetting = vetting
        self.knownPlugins = seen
        self.state = Mutex(State(settings: vetted))
        self.engine = ScopeEngine(scope: "global", members: members, registry: registry, bus: bus, tracker: tracker,
                                  vetting: vetting, publish: { context.settings = $0 }, logger: logger)
        let failure = try await engine.start(settings: vetted, external: [], entryPoint: "init")
        self.startupFailures = failure.map { [$0] } ?? []
    }

    /// The global bus.
    public var globalBus: EventBus { context.bus }
    /// The global registry.
    public var globalRegistry: ServiceRegistry { context.registry }
    /// The current settings.
    public var settings: RuntimeSettings { state.withLock { $0.settings } }
    /// Plugins the current settings enable, global and session alike: locked ones, explicit
    /// settings, else stable on and experimental off (intent, before the dependency cascade).
    public var enabledPlugins: Set<PluginID> {
        let settings = self.settings
        let sessionPlugins = catalog.entries.filter { Enablement.isIntended(flags: $0.flags, config: settings.plugins[$0.id]) }
        return Enablement.intended(engine.enablementMembers, settings: settings).union(sessionPlugins.map(\.id))
    }
    /// Global plugins attached (truth, after the cascade and failures). Each session reports its
    /// own through ``PluginSession/attachedPlugins``.
    public var attachedPlugins: Set<PluginID> { engine.attachedPlugins }
    /// Problems found while deciding global enablement.
    public var configurationProblems: [ConfigurationProblem] { engine.problems }

    /// The live sessions, by id order.
    public var sessions: [PluginSession] {
        state.withLock { $0.sessions.values.map(\.session).sorted { $0.id < $1.id } }
    }

    /// The live session `id`.
    public func session(_ id: SessionID) -> PluginSession? { state.withLock { $0.sessions[id]?.session } }

    // MARK: Sessions

    /// Creates a session with the seven steps, in the runtime's host, and lists it in ``sessions``.
    ///
    /// The session is listed only once every enabled plugin attached: when one fails to
    /// register or attach, the plugins that did attach are detached, the session's bus is
    /// disposed, nothing is listed, and the error is thrown.
    /// - Parameters:
    ///   - id: the session's id (checked, see ``SessionID/validate()``); a fresh one when nil.
    ///   - settings: the session's own settings; the runtime's when nil. Either way the next
    ///     runtime-wide ``updateSettings(_:)`` moves the session to the runtime's new settings.
    ///   - options: host-specific options (a sandboxed host's profile and restart policy).
    ///   - contextFactory: builds the session context's host-specific values; a plugin that
    ///     `require`s a value the factory did not provide fails to attach, and so does the session.
    /// - Throws: ``SessionIDError``, ``RuntimeError/duplicateSession(_:)``,
    ///   ``RuntimeError/disposed``, ``SettingsError``, ``UnknownReferenceError``,
    ///   ``LifecycleError``, or the host's error.
    public func createSession(
        id: SessionID? = nil,
        settings: RuntimeSettings? = nil,
        options: (any SessionOptions)? = nil,
        contextFactory: (@Sendable (SessionID) -> ContextValues)? = nil
    ) async throws -> PluginSession {
        let sessionID = id ?? SessionID.make()
        try sessionID.validate()
        let requested = settings ?? self.settings
        try requested.validate()
        let vetted = try vetting.vetPluginIDs(requested, known: knownPlugins, entryPoint: "createSession")
        try state.withLock { state in
            if case .disposed = state.phase { throw RuntimeError.disposed }
            guard state.sessions[sessionID] == nil, state.opening.insert(sessionID).inserted else {
                throw RuntimeError.duplicateSession(sessionID)
            }
        }
        let launch = SessionLaunch(id: sessionID, settings: vetted, catalog: catalog, globalPlugins: attachedPlugins,
                                   options: options, unknownReferences: vetting.policy,
                                   contextValues: contextFactory?(sessionID) ?? ContextValues())
        let handle: any SessionHandle
        do {
            handle = try await host.openSession(launch, global: globalBus, runtime: self)
        } catch {
            _ = state.withLock { $0.opening.remove(sessionID) }
            throw error
        }
        let session = PluginSession(handle: handle, runtime: self)
        let listed = state.withLock { state -> Bool in
            state.opening.remove(sessionID)
            if case .disposed = state.phase { return false }
            state.sessions[sessionID] = Listed(session: session, settings: vetted)
            return true
        }
        guard listed else {
            try? await handle.dispose()
            throw RuntimeError.disposed
        }
        context.sessions.add(handle)
        return session
    }

    /// Forgets session `id` (its host calls this when a sandboxed session ends on its own).
    public func removeSession(_ id: SessionID) {
        _ = state.withLock { $0.sessions.removeValue(forKey: id) }
        context.sessions.remove(id)
    }

    // MARK: Disposal

    /// Disposes every session, then detaches the global plugins; the runtime refuses every
    /// later call, and an update that is running fails instead of storing its settings.
    /// Detach failures are logged: every plugin is detached regardless.
    public func dispose() async {
        let sessions: [PluginSession]? = state.withLock { state in
            if case .disposed = state.phase { return nil }
            state.phase = .disposed
            return state.sessions.values.map(\.session)
        }
        guard let sessions else { return }
        for session in sessions {
            do {
                try await session.dispose()
            } catch {
                logger.error("session detached with failures", metadata: ["session": "\(session.id)", "error": "\(error)"])
            }
        }
        if let failure = await engine.stop() {
            logger.error("global plugins detached with failures", metadata: ["error": "\(failure)"])
        }
        let listeners = state.withLock { state in
            defer { state.listeners.removeAll() }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.finish() }
    }
}
