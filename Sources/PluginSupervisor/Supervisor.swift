#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import PluginSandbox
import PluginWire
import Synchronization

/// The engine of the supervisor process: spawns confined workers, keeps the session table,
/// routes their traffic, watches their health and reports every ending.
///
/// It knows sessions by id and payloads as JSON; the plugin runtime's sandboxed session host
/// gives it types. It survives anything a worker sends or does.
public final class Supervisor: Sendable {
    /// How a supervisor is set up.
    public struct Configuration: Sendable {
        /// Spawns the workers (zygote or exec).
        public var spawner: WorkerSpawner
        /// Where workers' `globalBus` traffic goes.
        public var router: any GlobalRouter
        /// The supervisor-side limits for a worker running under a profile.
        public var limits: @Sendable (SandboxProfile) -> WorkerLimits
        /// How often health is checked (heartbeats, deadlines); memory is sampled every fifth check.
        public var healthInterval: Duration
        /// Receives every lifecycle change (the runtime publishes them on the global bus).
        public var lifecycle: @Sendable (SessionLifecycle) -> Void
        /// The supervisor's logger.
        public var logger: Logger
        /// Extra environment variables for every worker.
        public var workerEnvironment: [String: String]

        /// Creates a configuration.
        public init(
            spawner: WorkerSpawner,
            router: any GlobalRouter,
            limits: @escaping @Sendable (SandboxProfile) -> WorkerLimits = { WorkerLimits(profile: $0) },
            healthInterval: Duration = .milliseconds(100),
            lifecycle: @escaping @Sendable (SessionLifecycle) -> Void = { _ in },
            logger: Logger = Logger(label: "plugin-supervisor", factory: { _ in SwiftLogNoOpLogHandler() }),
            workerEnvironment: [String: String] = [:]
        ) {
            self.spawner = spawner
            self.router = router
            self.limits = limits
            self.healthInterval = healthInterval
            self.lifecycle = lifecycle
            self.logger = logger
            self.workerEnvironment = workerEnvironment
        }
    }

    private struct State {
        var sessions: [String: SandboxedSession] = [:]
        var order: [String] = []
        var shuttingDown = false
        var nextNumber = 1
        var ended: [SandboxedSession] = []
    }

    /// How many ended sessions ``endedSessions`` remembers.
    public static let endedHistory = 64

    private let configuration: Configuration
    private let reactor: Reactor
    private let state = Mutex(State())
    private let health: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let lifecycleStream: AsyncStream<SessionLifecycle>
    private let lifecycleContinuation: AsyncStream<SessionLifecycle>.Continuation

    /// Starts the reactor and the health checks.
    public init(configuration: Configuration) throws(SystemCallError) {
        self.configuration = configuration
        self.reactor = try Reactor()
        (lifecycleStream, lifecycleContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        // A worker that dies while we write to it must cost an EPIPE, never the supervisor.
        signal(SIGPIPE, SIG_IGN)
        let interval = configuration.healthInterval
        let task = Task { [weak self] in
            var tick = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self else { return }
                tick += 1
                self.checkHealth(sampleMemory: tick % 5 == 0)
            }
        }
        health.withLock { $0 = task }
    }

    // MARK: Sessions

    /// Spawns a confined worker for a new session and waits until its plugins are attached.
    ///
    /// - Parameters:
    ///   - id: the session id; a fresh one when nil. An id already in use is refused.
    ///   - profile: the sandbox profile its workers run under.
    ///   - settings: the session's `RuntimeSettings` as JSON.
    ///   - restartPolicy: what happens when its worker crashes.
    public func openSession(
        id: String? = nil,
        profile: SandboxProfile,
        settings: JSONValue,
        restartPolicy: RestartPolicy = .never
    ) async throws(SessionError) -> SandboxedSession {
        let admitted: Result<SandboxedSession, SessionError> = state.withLock { state in
            if state.shuttingDown {
                return .failure(SessionError(code: .spawn, sessionID: id ?? "-", message: "the supervisor is shutting down"))
            }
            let sessionID = id ?? Self.makeID(&state.nextNumber)
            if state.sessions[sessionID] != nil {
                return .failure(SessionError(code: .spawn, sessionID: sessionID, message: "session id '\(sessionID)' is already in use"))
            }
            let session = SandboxedSession(
                id: sessionID, profile: profile, limits: configuration.limits(profile), settings: settings,
                restartPolicy: restartPolicy, environment: environment)
            state.sessions[sessionID] = session
            state.order.append(sessionID)
            return .success(session)
        }
        let session = try admitted.get()
        do {
            _ = try await session.start()
        } catch {
            remove(session.id)
            throw error
        }
        if let pid = session.pid { publish(.started(session.id, pid: pid)) }
        return session
    }

    /// The live session with `id`.
    public func session(_ id: String) -> SandboxedSession? {
        state.withLock { $0.sessions[id] }
    }

    /// The live sessions, oldest first.
    public var sessions: [SandboxedSession] {
        state.withLock { state in state.order.compactMap { state.sessions[$0] } }
    }

    /// Every lifecycle change, as a stream (the runtime and `sandboxctl` follow it).
    public var lifecycle: AsyncStream<SessionLifecycle> { lifecycleStream }

    /// Emits `event` into every live session's bus at once; completes when each answered or failed.
    public func broadcast(
        event: String,
        payload: JSONValue,
        identifier: String? = nil,
        timeout: Duration? = nil
    ) async -> [String: Result<EmitOutcome, SessionError>] {
        let targets = sessions
        return await withTaskGroup(of: (String, Result<EmitOutcome, SessionError>).self) { group in
            for session in targets {
                group.addTask {
                    do throws(SessionError) {
                        return (session.id, .success(try await session.emit(event: event, payload: payload, identifier: identifier, timeout: timeout)))
                    } catch {
                        return (session.id, .failure(error))
                    }
                }
            }
            var results: [String: Result<EmitOutcome, SessionError>] = [:]
            for await (id, result) in group { results[id] = result }
            return results
        }
    }

    /// Disposes every session, stops the health checks and the reactor.
    public func shutdown(timeout: Duration = .seconds(2)) async {
        let targets: [SandboxedSession] = state.withLock { state in
            state.shuttingDown = true
            return state.order.compactMap { state.sessions[$0] }
        }
        await withTaskGroup(of: Void.self) { group in
            for session in targets {
                group.addTask { _ = await session.dispose(timeout: timeout) }
            }
        }
        health.withLock { $0?.cancel() }
        lifecycleContinuation.finish()
        reactor.shutdown()
    }

    // MARK: Internals

    private var environment: SessionEnvironment {
        SessionEnvironment(
            spawner: configuration.spawner,
            reactor: reactor,
            router: configuration.router,
            logger: configuration.logger,
            workerEnvironment: configuration.workerEnvironment,
            publish: { [weak self] change in self?.publish(change) },
            sessionFinished: { [weak self] id in self?.remove(id) }
        )
    }

    private func publish(_ change: SessionLifecycle) {
        lifecycleContinuation.yield(change)
        configuration.lifecycle(change)
    }

    private func remove(_ id: String) {
        state.withLock { state in
            if let session = state.sessions.removeValue(forKey: id) {
                state.order.removeAll { $0 == id }
                state.ended.append(session)
                if state.ended.count > Self.endedHistory { state.ended.removeFirst(state.ended.count - Self.endedHistory) }
            }
        }
    }

    /// The most recently ended sessions (at most ``endedHistory``), oldest first; their summaries
    /// keep the cause and their output stays readable.
    public var endedSessions: [SandboxedSession] {
        state.withLock { $0.ended }
    }

    /// The live or recently ended session with `id`.
    public func anySession(_ id: String) -> SandboxedSession? {
        state.withLock { state in state.sessions[id] ?? state.ended.last { $0.id == id } }
    }

    private func checkHealth(sampleMemory: Bool) {
        let now = ContinuousClock.now
        for session in sessions {
            session.tick(now: now, sampleMemory: sampleMemory)
        }
    }

    private static func makeID(_ counter: inout Int) -> String {
        defer { counter += 1 }
        let random = UInt32.random(in: 0...UInt32.max)
        return "s\(counter)-" + String(random, radix: 36)
    }
}

extension Supervisor {
    /// Opens the control socket at `path` (created `0600`, peers checked with `SO_PEERCRED`) and
    /// serves `service`'s commands on it until the returned server is closed.
    public func serveControl(at path: String, service: ControlService) throws(SystemCallError) -> ControlServer {
        try ControlServer(path: path, reactor: reactor, logger: configuration.logger) { request, _, reply in
            await service.handle(request, reply: reply)
        }
    }
}
