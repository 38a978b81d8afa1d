import Foundation
import Logging
import PluginBridge
@_spi(SessionHost) import PluginKit
import PluginSandbox
import PluginWire
import Synchronization

/// Options of a sandboxed session, given to `runtime.createSession(options:)`.
public struct SandboxSessionOptions: SessionOptions, Equatable {
    /// The sandbox profile its workers run under: a name the host's profile catalog knows, or nil
    /// for the default profile. Ignored when ``profileDocument`` is set.
    public var profile: String?
    /// A profile given as a value (a document an operator sent, already validated) instead of a
    /// name: the session's workers run under exactly it.
    public var profileDocument: SandboxProfile?
    /// What happens when its worker crashes.
    public var restart: RestartPolicy
    /// The supervisor-side limits (heartbeats, timeouts, frame size, calls in flight); nil: those
    /// the host's configuration derives from the profile.
    public var limits: WorkerLimits?
    /// Plugin libraries whose session plugins join the session, beside the host's own, in this
    /// order (at most four). Each worker of the session loads them once it is confined, from a
    /// sealed copy the supervisor verified when the session was created; the supervisor never
    /// maps them.
    ///
    /// `createSession` throws `PluginLibraryError` (PluginSandbox) for a library that cannot be used (missing,
    /// not a plugin library, its digest not the pinned one, built for another release or
    /// toolchain) before any worker is spawned, and ``SessionError`` with code `startFailed` and
    /// cause ``ExitCause/Kind/pluginLoadFailed`` when the worker could not load it (its load-time
    /// code crashed, hung or was killed).
    public var pluginLibraries: [PluginLibraryReference]
    /// Whether the host's own session plugins run in the session too (false: only the libraries'
    /// plugins, besides the host's locked ones).
    public var includesHostPlugins: Bool

    /// Creates options.
    public init(profile: String? = nil, restart: RestartPolicy = .never, limits: WorkerLimits? = nil,
                pluginLibraries: [PluginLibraryReference] = [], includesHostPlugins: Bool = true) {
        self.profile = profile
        self.restart = restart
        self.limits = limits
        self.pluginLibraries = pluginLibraries
        self.includesHostPlugins = includesHostPlugins
    }

    /// Creates options whose workers run under `profile`, a value rather than a catalog name.
    public init(profileDocument profile: SandboxProfile, restart: RestartPolicy = .never,
                pluginLibraries: [PluginLibraryReference] = [], includesHostPlugins: Bool = true) {
        self.profileDocument = profile
        self.restart = restart
        self.pluginLibraries = pluginLibraries
        self.includesHostPlugins = includesHostPlugins
    }
}

/// A `SessionHost` whose sessions are confined worker processes, and the operator's view of them.
///
/// `runtime.createSession` spawns a worker (or takes a warm spare), handshakes, and returns once
/// the worker built its session scope and attached its plugins; an attach failure fails
/// `createSession` with the worker's report. Lifecycle changes are published on the global bus
/// as ``SessionStarted``, ``SessionEnded``, ``SessionCrashed`` and ``SessionRestarted``, in
/// order; a session that ends on its own leaves `runtime.sessions`.
///
/// The host's service (``run()``) must run while sessions live: it carries the sessions'
/// `globalBus` traffic and the lifecycle events. ``Sandbox/withRuntime(globalPlugins:settings:globalContextValues:_:)-(_,_,_,(PluginRuntime)->Result)``
/// runs it for you.
public final class SandboxedSessionHost: BroadcastingSessionHost {
    let supervisor: Supervisor
    private let router: BusRouter
    private let profiles: ProfileCatalog
    private let libraries: PluginLibraryStore
    private let binding = Binding()
    /// Ended sessions an operator asked to forget (kept by reference so that an id reused by a
    /// later session is not hidden; pruned to the sessions the engine still remembers).
    private let forgotten = Mutex<[ObjectIdentifier: SupervisedSession]>([:])

    /// The runtime and global bus this host serves, learned on the first `openSession`.
    /// Held weakly: the runtime holds this host, and a host that held its runtime would keep
    /// both, and every descriptor of the engine, alive after the runtime is let go.
    private final class Binding: Sendable {
        struct Weak<Object: AnyObject & Sendable>: Sendable {
            weak var object: Object?
        }

        let runtime = Mutex(Weak<PluginRuntime>())
        let bus = Mutex(Weak<EventBus>())
    }

    /// Creates the host from `configuration`.
    public init(configuration: SandboxConfiguration) throws {
        let router = BusRouter()
        self.router = router
        self.profiles = configuration.profiles
        self.libraries = configuration.pluginLibraries
        var engine = Supervisor.Configuration(workers: .spawner(try configuration.makeSpawner()), router: router)
        engine.limits = configuration.limits
        engine.inboundPolicy = configuration.inboundPolicy
        engine.permissions = configuration.permissions
        engine.cgroups = try configuration.makeCgroups()
        engine.sparesPerProfile = configuration.sparesPerProfile
        engine.logger = configuration.logger
        engine.workerEnvironment = configuration.workerEnvironment
        engine.startLimit = configuration.startLimit
        if let loops = configuration.eventLoops { engine.loopCount = loops }
        self.supervisor = try Supervisor(configuration: engine)
        let binding = self.binding
        supervisor.lifecycleHandler.withLock { $0 = { change in await Self.publish(change, binding: binding) } }
        for name in configuration.prewarmedProfiles {
            if let profile = try? profiles.profile(named: name) { supervisor.prewarm(profile) }
        }
    }

    public func openSession(_ launch: SessionLaunch, global: EventBus, runtime: PluginRuntime) async throws -> any SessionHandle {
        router.bind(global)
        binding.bus.withLock { $0.object = global }
        binding.runtime.withLock { $0.object = runtime }
        let options: SandboxSessionOptions
        switch launch.options {
        case nil: options = SandboxSessionOptions()
        case let given as SandboxSessionOptions: options = given
        case let other?:
            throw SessionError(code: .spawn, sessionID: launch.id.rawValue,
                               message: "a sandboxed session takes SandboxSessionOptions, not \(type(of: other))")
        }
        let profile = try options.profileDocument ?? profiles.profile(named: options.profile)
        let sealed = try libraries.seal(options.pluginLibraries)
        var settings = launch.settings
        if !options.includesHostPlugins {
            for id in launch.catalog.pluginIDs { settings.plugins[id, default: PluginConfig()].enabled = false }
        }
        let session = try await supervisor.openSession(
            id: launch.id.rawValue, profile: profile, settings: try RawJSON(encoding: settings),
            globalPlugins: launch.globalPlugins.map(\.rawValue).sorted(), restartPolicy: options.restart,
            unknownReferences: launch.unknownReferences == .throwError ? nil : launch.unknownReferences.description,
            limits: options.limits, libraries: sealed)
        return SandboxedSessionHandle(session: session)
    }

    /// A broadcast to this host's sessions: the event is encoded once and the same frame goes to
    /// every worker; a payload no handler replaced is not decoded again.
    public func broadcast<E: WireEvent>(_ event: E, identifier: String?, to sessions: [any SessionHandle]) async -> [SessionID: SessionDelivery<E>] {
        var results: [SessionID: SessionDelivery<E>] = [:]
        let payload: RawJSON
        do {
            payload = try RawJSON(encoding: event)
        } catch {
            for session in sessions { results[session.id] = .failed(error) }
            return results
        }
        let targets = sessions.compactMap { ($0 as? SandboxedSessionHandle)?.session }
        let replies = await supervisor.broadcast(event: E.wireName, payload: payload, identifier: identifier, timeout: nil, to: targets)
        for (id, reply) in replies {
            results[SessionID(id)] = Self.delivery(reply, of: event, identifier: identifier)
        }
        for session in sessions where results[session.id] == nil {
            do {
                let envelope = try await session.emit(event, identifier: identifier)
                results[session.id] = envelope.isStopped ? .stopped(envelope) : .delivered(envelope)
            } catch {
                results[session.id] = .failed(error)
            }
        }
        return results
    }

    private static func delivery<E: WireEvent>(_ reply: Result<WireMessage, SessionError>, of event: E, identifier: String?) -> SessionDelivery<E> {
        switch reply {
        case .failure(let error):
            return .failed(error)
        case .success(.emitResult(let result)):
            if let failure = result.error { return .failed(failure.runtimeError(name: E.wireName, identifier: identifier)) }
            let payload: E
            do {
                payload = try result.payload.map { try $0.decode(E.self) } ?? event
            } catch {
                return .failed(error)
            }
            let envelope = EventEnvelope(payload: payload, identifier: identifier, stopped: result.stopped,
                                         handlerCount: result.handled, isPayloadReplaced: result.payload != nil)
            return result.stopped ? .stopped(envelope) : .delivered(envelope)
        case .success(let other):
            return .failed(SessionError.unexpected(other, session: "-"))
        }
    }

    // MARK: The service

    /// Runs the host's service until ``shutdown(timeout:)``: routes the sessions' `globalBus` calls,
    /// publishes lifecycle events, replaces crashed workers and keeps warm spares.
    public func run() async {
        await supervisor.run()
    }

    /// Disposes every session, stops the service and the event loops.
    public func shutdown(timeout: Duration = .seconds(2)) async {
        await supervisor.shutdown(timeout: timeout)
    }

    /// Opens the control socket at `path` (created `0600`, peers checked with `SO_PEERCRED`).
    /// Serve it with ``ControlServer/run(_:)``; a live supervisor already answering at `path` is
    /// refused, naming its pid.
    public func openControlSocket(at path: String) async throws(ControlServerError) -> ControlServer {
        try await ControlServer(path: path, loop: supervisor.loops[0], logger: supervisor.configuration.logger)
    }

    /// The profile catalog sessions resolve their profiles from.
    public var profileCatalog: ProfileCatalog { profiles }

    // MARK: The operator's view

    /// The recently ended sessions, oldest first, then every live one.
    public func summaries(includingEnded: Bool = true) -> [SessionSummary] {
        (includingEnded ? rememberedEndedSessions.map(\.summary) : []) + supervisor.sessions.map(\.summary)
    }

    /// The live or recently ended (and not forgotten) session `id`.
    public func summary(of id: SessionID) -> SessionSummary? {
        anySession(id)?.summary
    }

    /// The log of the live or recently ended (and not forgotten) session `id`.
    public func log(of id: SessionID) -> SessionLog? {
        anySession(id)?.log
    }

    /// The profile the live or recently ended (and not forgotten) session `id` runs under.
    public func profile(of id: SessionID) -> SandboxProfile? {
        anySession(id)?.profile
    }

    /// Forgets the ended session `id`: it leaves ``summaries(includingEnded:)``, its summary and
    /// its log are gone (`sandboxctl rm`).
    /// - Throws: ``SessionError`` for an unknown id, or for a session that is still live.
    public func forget(_ id: SessionID) throws(SessionError) {
        if supervisor.session(id.rawValue) != nil {
            throw SessionError(code: .busy, sessionID: id.rawValue,
                               message: "session \(id) is still running; end it first (dispose or kill)")
        }
        guard let session = anySession(id) else { throw SessionError.unknown(id.rawValue) }
        remember(forgetting: [session])
    }

    /// Forgets every ended session (`sandboxctl prune`); returns their ids, oldest first.
    @discardableResult
    public func forgetEndedSessions() -> [SessionID] {
        let ended = rememberedEndedSessions
        remember(forgetting: ended)
        return ended.map { SessionID($0.id) }
    }

    private var rememberedEndedSessions: [SupervisedSession] {
        let ended = supervisor.endedSessions
        return forgotten.withLock { forgotten in ended.filter { forgotten[ObjectIdentifier($0)] == nil } }
    }

    private func anySession(_ id: SessionID) -> SupervisedSession? {
        if let live = supervisor.session(id.rawValue) { return live }
        return rememberedEndedSessions.last { $0.id == id.rawValue }
    }

    private func remember(forgetting sessions: [SupervisedSession]) {
        let ended = supervisor.endedSessions
        forgotten.withLock { forgotten in
            for session in sessions { forgotten[ObjectIdentifier(session)] = session }
            let still = Set(ended.map(ObjectIdentifier.init))
            forgotten = forgotten.filter { still.contains($0.key) }
        }
    }

    /// The configuration's ``StartLimit`` (nil: there is none).
    public var startLimit: StartLimit? { supervisor.configuration.startLimit }

    /// What the configuration's ``StartLimit`` has done so far (nil: there is none).
    public var startLimitStatus: StartLimit.Status? { supervisor.startLimitStatus }

    /// Kills session `id` now (SIGKILL) without a restart; returns its cause.
    public func kill(_ id: SessionID) async throws(SessionError) -> ExitCause {
        guard let session = supervisor.session(id.rawValue) else { throw SessionError.unknown(id.rawValue) }
        return await session.kill()
    }

    /// Replaces session `id`'s worker with a new one (same id and settings; the restart policy is
    /// not charged). Throws for an unknown session or one that is not running.
    public func restart(_ id: SessionID) async throws(SessionError) {
        guard let session = supervisor.session(id.rawValue) else { throw SessionError.unknown(id.rawValue) }
        guard await session.restart() else {
            throw SessionError(code: .sessionDead, sessionID: id.rawValue, message: "session \(id) is not running; only a running session can be restarted")
        }
    }

    /// Every lifecycle change from now on, in order.
    public func lifecycleChanges() -> AsyncStream<SessionLifecycle> {
        supervisor.lifecycleChanges()
    }

    /// Emits `event` (raw JSON) into one live session; for tools that know events by wire name.
    public func emit(to id: SessionID, event: String, payload: RawJSON, identifier: String? = nil) async throws(SessionError) -> EmitResult {
        guard let session = supervisor.session(id.rawValue) else { throw SessionError.unknown(id.rawValue) }
        let reply = try await session.call("emit \(event)") { callID in
            .emit(Emit(id: callID, scope: .session, event: event, identifier: identifier, payload: payload))
        }
        guard case .emitResult(let result) = reply else { throw SessionError.unexpected(reply, session: id.rawValue) }
        return result
    }

    /// Emits `event` (raw JSON) into every live session at once, one result per session.
    public func broadcast(event: String, payload: RawJSON, identifier: String? = nil, timeout: Duration? = nil) async -> [(SessionID, Result<EmitResult, SessionError>)] {
        await supervisor.broadcast(event: event, payload: payload, identifier: identifier, timeout: timeout).map { id, result in
            (SessionID(id), result.flatMap { reply in
                guard case .emitResult(let emit) = reply else { return .failure(SessionError.unexpected(reply, session: id)) }
                return .success(emit)
            })
        }
    }

    /// Sends a request (raw JSON) into one live session.
    public func request(to id: SessionID, name: String, payload: RawJSON, identifier: String? = nil, optional: Bool = false) async throws(SessionError) -> Response {
        guard let session = supervisor.session(id.rawValue) else { throw SessionError.unknown(id.rawValue) }
        let reply = try await session.call("request \(name)") { callID in
            .request(Request(id: callID, scope: .session, name: name, identifier: identifier, payload: payload, optional: optional))
        }
        guard case .response(let response) = reply else { throw SessionError.unexpected(reply, session: id.rawValue) }
        return response
    }

    // MARK: Lifecycle events

    private static func publish(_ change: SessionLifecycle, binding: Binding) async {
        let finished: Bool
        switch change {
        case .ended: finished = true
        case .crashed(_, _, let willRestart): finished = !willRestart
        case .started, .restarted: finished = false
        }
        if finished { binding.runtime.withLock { $0.object }?.removeSession(SessionID(change.sessionID)) }
        guard let bus = binding.bus.withLock({ $0.object }) else { return }
        switch change {
        case .started(let id, let pid): _ = try? await bus.emit(SessionStarted(sessionID: SessionID(id), pid: pid), identifier: nil, origin: .global)
        case .ended(let id, let cause): _ = try? await bus.emit(SessionEnded(sessionID: SessionID(id), cause: cause), identifier: nil, origin: .global)
        case .crashed(let id, let cause, let willRestart):
            _ = try? await bus.emit(SessionCrashed(sessionID: SessionID(id), cause: cause, willRestart: willRestart), identifier: nil, origin: .global)
        case .restarted(let id, let attempt): _ = try? await bus.emit(SessionRestarted(sessionID: SessionID(id), attempt: attempt), identifier: nil, origin: .global)
        }
    }
}

extension SessionError {
    /// No live session has `id`.
    static func unknown(_ id: String) -> SessionError {
        SessionError(code: .unknownSession, sessionID: id, message: "no session with id '\(id)'")
    }
}
