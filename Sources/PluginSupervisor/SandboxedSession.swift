#if canImport(Glibc)
import Glibc
#endif
import Logging
import PluginSandbox
import PluginWire
import Synchronization

/// A session whose scope lives in a confined worker process.
///
/// It outlives any one worker: with a restarting ``RestartPolicy`` a crashed worker is replaced
/// by a new one with the same session id and the session's current settings. Calls made while
/// no worker is up fail at once with ``SessionError/Code/sessionDead``, never hang.
public final class SandboxedSession: Sendable {
    /// Where a session is in its life.
    public enum Phase: Sendable, Equatable, CustomStringConvertible {
        /// Spawning the first worker, or handshaking with it.
        case starting
        /// A worker is up and its plugins are attached.
        case running
        /// The worker crashed; a new one comes after `after`.
        case restarting(attempt: Int)
        /// Dispose was asked for.
        case disposing
        /// The session is over, with this cause.
        case ended(ExitCause)

        public var description: String {
            switch self {
            case .starting: return "starting"
            case .running: return "running"
            case .restarting(let attempt): return "restarting (attempt \(attempt))"
            case .disposing: return "disposing"
            case .ended(let cause): return cause.isCrash ? "crashed" : "ended"
            }
        }
    }

    private struct State {
        var phase: Phase = .starting
        var link: WorkerLink?
        var settings: JSONValue
        var restarts: [ContinuousClock.Instant] = []
        var restartCount = 0
        var lastCause: ExitCause?
        var ready: Ready?
        var hello: Hello?
        var endWaiters: [CheckedContinuation<ExitCause, Never>] = []
        var operatorKill = false
    }

    /// The session id, stable across restarts.
    public let id: String
    /// The sandbox profile its workers run under.
    public let profile: SandboxProfile
    /// What happens when its worker crashes.
    public let restartPolicy: RestartPolicy
    /// The captured stdout/stderr of its workers.
    public let output: OutputCapture
    /// When the session was created.
    public let createdAt = ContinuousClock.now
    private let limits: WorkerLimits
    private let environment: SessionEnvironment
    private let state: Mutex<State>
    private let logger: Logger

    init(id: String, profile: SandboxProfile, limits: WorkerLimits, settings: JSONValue,
         restartPolicy: RestartPolicy, environment: SessionEnvironment) {
        self.id = id
        self.profile = profile
        self.limits = limits
        self.restartPolicy = restartPolicy
        self.environment = environment
        self.output = OutputCapture(capacity: 64 * 1024)
        self.state = Mutex(State(settings: settings))
        var logger = environment.logger
        logger[metadataKey: "session"] = "\(id)"
        self.logger = logger
    }

    // MARK: Starting

    /// Spawns the first worker and waits until its plugins are attached.
    func start() async throws(SessionError) -> Ready {
        try await launchWorker()
    }

    private func launchWorker() async throws(SessionError) -> Ready {
        let settings = state.withLock { $0.settings }
        let spawned: SpawnedWorker
        do {
            spawned = try await environment.spawner.spawn(SpawnRequest(sessionID: id, profile: profile, environment: environment.workerEnvironment))
        } catch {
            let cause = ExitCause.spawnFailed("\(error)")
            finish(cause)
            throw SessionError(code: .spawn, sessionID: id, message: "could not spawn a worker for session \(id): \(error)", cause: cause)
        }
        let link: WorkerLink
        do {
            link = try WorkerLink(
                sessionID: id, worker: spawned, settings: settings, limits: limits, router: environment.router,
                reactor: environment.reactor, capture: output, logger: logger,
                onEnd: { [weak self] cause in self?.workerEnded(cause) })
        } catch {
            try? spawned.process.signal(SIGKILL)
            _ = try? spawned.process.reap()
            let cause = ExitCause.spawnFailed("\(error)")
            finish(cause)
            throw SessionError(code: .spawn, sessionID: id, message: "could not watch the worker of session \(id): \(error)", cause: cause)
        }
        state.withLock { $0.link = link }
        let watchdog = Task { [limits] in
            do { try await Task.sleep(for: limits.handshakeTimeout) } catch { return }
            link.kill(.handshakeFailed("no ready within \(limits.handshakeTimeout)"))
        }
        defer { watchdog.cancel() }
        let ready = try await link.handshake()
        let became = state.withLock { state -> Bool in
            guard state.link === link else { return false }
            state.ready = ready
            state.hello = link.hello
            if case .ended = state.phase { return false }
            if case .disposing = state.phase { return true }
            state.phase = .running
            return true
        }
        guard became else {
            throw SessionError.dead(id, cause: link.endCause ?? .handshakeFailed("replaced during the handshake"))
        }
        return ready
    }

    // MARK: Calls

    /// The live worker, or the error a caller gets when there is none.
    private func liveLink() throws(SessionError) -> WorkerLink {
        let result: Result<WorkerLink, SessionError> = state.withLock { state in
            switch state.phase {
            case .running, .disposing:
                if let link = state.link { return .success(link) }
                return .failure(.dead(id, cause: state.lastCause ?? .spawnFailed("no worker")))
            case .starting:
                return .failure(SessionError(code: .handshake, sessionID: id, message: "session \(id) is still starting"))
            case .restarting(let attempt):
                return .failure(.dead(id, cause: state.lastCause ?? .spawnFailed("restarting, attempt \(attempt)")))
            case .ended(let cause):
                return .failure(.dead(id, cause: cause))
            }
        }
        return try result.get()
    }

    /// Emits `event` into the session's own bus and returns the final payload.
    public func emit(event: String, payload: JSONValue, identifier: String? = nil, timeout: Duration? = nil) async throws(SessionError) -> (payload: JSONValue, stopped: Bool) {
        let link = try liveLink()
        let reply = try await link.call("emit \(event)", timeout: timeout) { id in
            .emit(Emit(id: id, scope: .session, event: event, identifier: identifier, payload: payload))
        }
        guard case .emitResult(let result) = reply else { throw unexpected(reply) }
        if let error = result.error { throw remote(error) }
        return (result.payload ?? payload, result.stopped)
    }

    /// Sends a request into the session's bus; nil only when `optional` and nobody answered.
    public func request(name: String, payload: JSONValue, identifier: String? = nil, optional: Bool = false, timeout: Duration? = nil) async throws(SessionError) -> JSONValue? {
        let link = try liveLink()
        let reply = try await link.call("request \(name)", timeout: timeout) { id in
            .request(Request(id: id, scope: .session, name: name, identifier: identifier, payload: payload, optional: optional,
                             timeoutMilliseconds: timeout.map { Int($0.totalMilliseconds) }))
        }
        guard case .response(let response) = reply else { throw unexpected(reply) }
        if let error = response.error { throw remote(error) }
        return response.payload
    }

    /// Reconciles the worker's scope to `settings`; on success they become the session's settings
    /// (kept across restarts).
    public func reconcile(settings: JSONValue) async throws(SessionError) -> SettingsResult {
        let link = try liveLink()
        let reply = try await link.call("settings") { id in .settings(SettingsUpdate(id: id, settings: settings)) }
        guard case .settingsResult(let result) = reply else { throw unexpected(reply) }
        if let error = result.error { throw remote(error) }
        state.withLock { state in
            state.settings = settings
            if var ready = state.ready {
                ready.attachedPlugins = Array(Set(ready.attachedPlugins).subtracting(result.detached).union(result.attached)).sorted()
                state.ready = ready
            }
        }
        return result
    }

    private func unexpected(_ reply: WireMessage) -> SessionError {
        SessionError(code: .remote, sessionID: id, message: "session \(id) answered with \(reply.kind)")
    }

    private func remote(_ failure: WireFailure) -> SessionError {
        SessionError(code: .remote, sessionID: id, message: failure.message, failure: failure)
    }

    // MARK: Ending

    /// Detaches the plugins, lets the worker exit and waits for it.
    public func dispose(timeout: Duration = .seconds(2)) async -> ExitCause {
        let link: WorkerLink? = state.withLock { state in
            switch state.phase {
            case .ended: return nil
            default:
                state.phase = .disposing
                return state.link
            }
        }
        guard let link else { return await ended() }
        let cause = await link.dispose(timeout: timeout)
        finish(cause)
        return await ended()
    }

    /// Kills the worker at once (SIGKILL through its pidfd) and ends the session.
    public func kill() async -> ExitCause {
        let link: WorkerLink? = state.withLock { state in
            if case .ended = state.phase { return nil }
            state.operatorKill = true
            return state.link
        }
        if let link {
            link.kill(.killedByOperator)
        } else {
            finish(.killedByOperator)
        }
        return await ended()
    }

    /// Kills the current worker as a crash with `cause` (the restart policy applies).
    func crash(_ cause: ExitCause) {
        state.withLock { $0.link }?.kill(cause)
    }

    /// Waits for the end of the session (after any restarts).
    public func ended() async -> ExitCause {
        await withCheckedContinuation { continuation in
            let cause: ExitCause? = state.withLock { state in
                if case .ended(let cause) = state.phase { return cause }
                state.endWaiters.append(continuation)
                return nil
            }
            if let cause { continuation.resume(returning: cause) }
        }
    }

    private func workerEnded(_ cause: ExitCause) {
        let decision: RestartDecision = state.withLock { state in
            state.lastCause = cause
            switch state.phase {
            case .disposing, .ended: return .end
            default: break
            }
            if state.operatorKill { return .end }
            return restartPolicy.decide(cause: cause, history: state.restarts, now: .now)
        }
        switch decision {
        case .end:
            finish(cause)
        case .giveUp(let reason):
            logger.warning("restart intensity exceeded; giving the session up", metadata: ["reason": "\(reason)"])
            finish(ExitCause(kind: cause.kind, exitCode: cause.exitCode, signal: cause.signal, syscall: cause.syscall,
                             detail: [cause.detail, "given up: \(reason)"].compactMap { $0 }.joined(separator: "; ")))
        case .restart(let delay, let attempt):
            state.withLock { state in
                state.phase = .restarting(attempt: attempt)
                state.restarts.append(.now)
                state.restartCount += 1
                state.link = nil
            }
            environment.publish(.crashed(id, cause, willRestart: true))
            Task {
                try? await Task.sleep(for: delay)
                do {
                    _ = try await self.launchWorker()
                    self.environment.publish(.restarted(self.id, attempt: attempt))
                } catch {
                    self.logger.warning("restart failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Ends the session with `cause` (once) and wakes everyone waiting for the end.
    private func finish(_ cause: ExitCause) {
        let waiters: [CheckedContinuation<ExitCause, Never>]? = state.withLock { state in
            if case .ended = state.phase { return nil }
            state.phase = .ended(cause)
            state.lastCause = cause
            state.link = nil
            defer { state.endWaiters.removeAll() }
            return state.endWaiters
        }
        guard let waiters else { return }
        output.finish()
        environment.publish(cause.isCrash ? .crashed(id, cause, willRestart: false) : .ended(id, cause))
        environment.sessionFinished(id)
        for waiter in waiters { waiter.resume(returning: cause) }
    }

    // MARK: Introspection

    /// A snapshot for `ls` / `inspect`.
    public var summary: SessionSummary {
        let (phase, link, restarts, lastCause, ready, hello) = state.withLock { state in
            (state.phase, state.link, state.restartCount, state.lastCause, state.ready, state.hello)
        }
        let statistics = link?.statistics
        let sample = statistics?.sample ?? link.flatMap { ProcessSample.read(pid: $0.pid) }
        return SessionSummary(
            id: id,
            pid: link?.pid,
            state: phase.description,
            uptimeSeconds: Double((ContinuousClock.now - createdAt).totalMilliseconds) / 1000,
            residentBytes: sample?.residentBytes,
            cpuSeconds: sample?.cpuSeconds,
            eventsIn: statistics?.framesIn ?? 0,
            eventsOut: statistics?.framesOut ?? 0,
            restarts: restarts,
            lastCause: lastCause,
            profile: profile.name,
            restartPolicy: restartPolicy.description,
            enabledPlugins: ready?.enabledPlugins ?? [],
            attachedPlugins: ready?.attachedPlugins ?? [],
            sandboxLayers: hello?.sandboxLayers ?? []
        )
    }

    /// The current phase.
    public var phase: Phase { state.withLock { $0.phase } }

    /// The settings the session's scope was last reconciled to.
    public var settings: JSONValue { state.withLock { $0.settings } }

    /// The current worker's pid, if one is up.
    public var pid: Int32? { state.withLock { $0.link?.pid } }

    /// Ticks the current worker's health checks.
    func tick(now: ContinuousClock.Instant, sampleMemory: Bool) {
        state.withLock { $0.link }?.tick(now: now, sampleMemory: sampleMemory)
    }
}

/// What `sandboxctl ls` and `inspect` show of a session.
public struct SessionSummary: Sendable, Codable, Equatable {
    public var id: String
    public var pid: Int32?
    public var state: String
    public var uptimeSeconds: Double
    public var residentBytes: Int?
    public var cpuSeconds: Double?
    public var eventsIn: Int
    public var eventsOut: Int
    public var restarts: Int
    public var lastCause: ExitCause?
    public var profile: String
    public var restartPolicy: String
    public var enabledPlugins: [String]
    public var attachedPlugins: [String]
    public var sandboxLayers: [String]
}
