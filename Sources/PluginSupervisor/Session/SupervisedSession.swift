#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import PluginKit
import PluginSandbox
import PluginWire
import Synchronization

/// A session whose scope lives in a confined worker process, as the supervisor keeps it.
///
/// It outlives any one worker: with a restarting ``RestartPolicy`` a crashed worker is replaced
/// by a new one with the same session id and the session's current settings. Its state lives on
/// one event loop (with the worker serving it); calls from other threads hop there. A call made
/// while no worker serves the session fails at once, never hangs.
final class SupervisedSession: @unchecked Sendable {
    // @unchecked: `machine`, `link`, `settings`, `waiters` are touched on `loop` only; `published`
    // is a Mutex-guarded snapshot any thread may read; the rest is immutable.

    let id: String
    let profile: SandboxProfile
    /// The plugin libraries its workers load (their sealed copies stay open while the session lives).
    let libraries: [SealedPluginLibrary]
    let loop: EventLoop
    let log: SessionLog
    let createdAt = Date()
    /// The supervisor-side limits of its workers.
    let limits: WorkerLimits
    private unowned let supervisor: Supervisor
    private let logger: Logger

    private var machine: SessionStateMachine
    private(set) var link: WorkerLink?
    private var settings: RawJSON
    private var globalPlugins: [String]
    private let unknownReferences: String?
    private var endWaiters: [CheckedContinuation<ExitCause, Never>] = []
    private var workerStartedAt = ContinuousClock.now
    private var cpuBudget: CPUBudgetMeter?
    private var ticks = 0
    private let published: Mutex<SessionSummary>

    init(id: String, profile: SandboxProfile, restartPolicy: RestartPolicy, settings: RawJSON, globalPlugins: [String],
         unknownReferences: String? = nil, limits: WorkerLimits, loop: EventLoop, supervisor: Supervisor, logger: Logger,
         libraries: [SealedPluginLibrary] = []) {
        self.unknownReferences = unknownReferences
        self.limits = limits
        self.id = id
        self.profile = profile
        self.libraries = libraries
        self.loop = loop
        self.supervisor = supervisor
        self.settings = settings
        self.globalPlugins = globalPlugins
        self.machine = SessionStateMachine(policy: restartPolicy)
        self.cpuBudget = profile.resources?.cpuBudget.map { CPUBudgetMeter(budget: $0) }
        self.log = SessionLog()
        var logger = logger
        logger[metadataKey: "session"] = "\(id)"
        self.logger = logger
        self.published = Mutex(SessionSummary(
            id: SessionID(id), pid: nil, state: "starting", startedAt: Date(), residentBytes: nil, cpuSeconds: nil, eventsIn: 0, eventsOut: 0,
            restarts: 0, lastCause: nil, profile: profile.name, restartPolicy: restartPolicy.description,
            enabledPlugins: [], attachedPlugins: [], sandboxLayers: [], resources: nil))
    }

    var restartPolicy: RestartPolicy { machine.policy }

    /// The assignment a worker gets for this session.
    private var assignment: SessionAssignment {
        SessionAssignment(sessionID: id, settings: settings, globalPlugins: globalPlugins, unknownReferences: unknownReferences)
    }

    // MARK: Workers

    /// Takes `link` as the session's worker (a fresh spawn, or a spare given its assignment).
    func adopt(_ link: WorkerLink, isSpare: Bool) {
        loop.assertInEventLoop()
        self.link = link
        link.owner = self
        if isSpare {
            guard link.assign(assignment) else { return }  // it died meanwhile: workerEnded follows
            log.append(SessionLogEntry(time: Date(), source: .supervisor, level: "info", text: "took warm spare worker \(link.pid)"))
        }
        workerStartedAt = .now
        publish()
    }

    /// The assignment for a worker spawned cold for this session.
    var coldAssignment: SessionAssignment { assignment }

    // MARK: Calls (any thread)

    /// Sends `make(id)` to the current worker and waits for the reply with that id.
    func call(_ what: String, timeout: Duration? = nil, _ make: @escaping @Sendable (UInt64) -> WireMessage) async throws(SessionError) -> WireMessage {
        let id = CorrelationID.next()
        let result: Result<WireMessage, SessionError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                loop.execute { [self] in
                    guard let link = liveLink(continuation) else { return }
                    link.call(id, make(id), what: what, timeout: timeout, waiter: .call(continuation))
                }
            }
        } onCancel: {
            loop.execute { [self] in link?.cancelCall(id) }
        }
        return try result.get()
    }

    /// The worker, when one serves calls; otherwise fails `continuation` with why not.
    private func liveLink(_ continuation: CheckedContinuation<Result<WireMessage, SessionError>, Never>) -> WorkerLink? {
        switch machine.phase {
        case .running, .disposing:
            if let link { return link }
            continuation.resume(returning: .failure(.dead(id, cause: machine.lastCause ?? .spawnFailed("no worker"))))
        case .starting:
            continuation.resume(returning: .failure(SessionError(code: .handshake, sessionID: id, message: "session \(id) is still starting")))
        case .restarting(let attempt):
            continuation.resume(returning: .failure(.dead(id, cause: machine.lastCause ?? .spawnFailed("restarting, attempt \(attempt)"))))
        case .ended(let cause):
            continuation.resume(returning: .failure(.dead(id, cause: cause)))
        }
        return nil
    }

    /// Queues one slot of a broadcast on this session's worker (on the loop).
    func deliver(_ id: UInt64, frame: [UInt8], what: String, timeout: Duration?, collector: BroadcastCollector, slot: Int) {
        loop.assertInEventLoop()
        switch machine.phase {
        case .running, .disposing:
            if let link {
                return link.call(id, frame: frame, what: what, timeout: timeout, waiter: .broadcast(collector, slot: slot))
            }
            collector.fill(slot, with: .failure(.dead(self.id, cause: machine.lastCause ?? .spawnFailed("no worker"))))
        case .ended(let cause):
            collector.fill(slot, with: .failure(.dead(self.id, cause: cause)))
        case .starting, .restarting:
            collector.fill(slot, with: .failure(.dead(self.id, cause: machine.lastCause ?? .spawnFailed("no worker is up"))))
        }
    }

    /// Reconciles the worker's scope; on success the settings are kept across restarts.
    func reconcile(settings: RawJSON, globalPlugins: [String]) async throws(SessionError) -> SettingsResult {
        let reply = try await call("settings") { id in .settings(SettingsUpdate(id: id, settings: settings, globalPlugins: globalPlugins)) }
        guard case .settingsResult(let result) = reply else { throw unexpected(reply) }
        if let error = result.error { throw SessionError(code: .remote, sessionID: id, message: error.message, failure: error) }
        await loop.submit { [self] in
            self.settings = settings
            self.globalPlugins = globalPlugins
            published.withLock { summary in
                summary.attachedPlugins = Array(Set(summary.attachedPlugins).subtracting(result.detached).union(result.attached)).sorted()
            }
        }
        return result
    }

    private func unexpected(_ reply: WireMessage) -> SessionError {
        SessionError(code: .remote, sessionID: id, message: "session \(id) answered with \(reply.kind)")
    }

    // MARK: Ending (any thread)

    /// Detaches the plugins, lets the worker exit, and waits for the end.
    func dispose(timeout: Duration = .seconds(2)) async -> ExitCause {
        loop.execute { [self] in
            switch machine.dispose() {
            case .disposeWorker: link?.dispose(timeout: timeout)
            case .endNow(let cause): finish(cause)
            case .none: break
            }
        }
        return await ended()
    }

    /// Kills the worker at once (SIGKILL through its pidfd) and ends the session: no restart.
    func kill() async -> ExitCause {
        loop.execute { [self] in
            switch machine.kill() {
            case .killWorker: link?.kill(.killedByOperator)
            case .endNow(let cause): finish(cause)
            case .none: break
            }
        }
        return await ended()
    }

    /// Replaces the session's worker with a new one (same id, current settings): the old worker
    /// is killed, the new one handshakes, `SessionRestarted` is published. False when the session
    /// is not starting or running.
    func restart() async -> Bool {
        await loop.submit { [self] in
            guard machine.requestRestart() else { return false }
            link?.kill(ExitCause(kind: .killedByOperator, signal: SIGKILL, detail: "restarted by an operator"))
            return true
        }
    }

    /// Waits for the end of the session (after any restarts).
    func ended() async -> ExitCause {
        await withCheckedContinuation { continuation in
            loop.execute { [self] in
                if case .ended(let cause) = machine.phase { return continuation.resume(returning: cause) }
                endWaiters.append(continuation)
            }
        }
    }

    /// The current worker's health tick (on the loop).
    func tick(now: ContinuousClock.Instant, loopLag: Duration) {
        link?.tick(now: now, loopLag: loopLag)
        ticks += 1
        // The CPU counter is read about once a second per session, staggered by the tick count.
        guard ticks % 10 == 0, let link, let cgroup = link.resources, case .running = machine.phase else { return }
        if let usage = try? cgroup.cpuUsage(), let budget = cpuBudget?.budget, let used = cpuBudget?.record(usage: usage, at: now) {
            link.kill(.cpuBudget("used \(used.formattedMilliseconds) of CPU within \(budget.window.formattedMilliseconds); the profile's budget is \(budget.cpuTime.formattedMilliseconds)"))
        }
    }

    // MARK: Restart

    /// The backoff passed: ask the supervisor for a new worker (spawning is async).
    private func restartDue() {
        guard machine.restartDue() else { return }
        supervisor.respawn(self)
    }

    /// A replacement could not be spawned.
    func respawnFailed(_ error: SessionError) {
        loop.assertInEventLoop()
        if let cause = machine.respawnFailed(error.cause ?? .spawnFailed(error.message)) { finish(cause) }
    }

    private func finish(_ cause: ExitCause) {
        link = nil
        publish()
        log.append(SessionLogEntry(time: Date(), source: .supervisor, level: "notice", text: "session ended: \(cause)"))
        log.finish()
        supervisor.sessionFinished(self, cause: cause)
        let waiters = endWaiters
        endWaiters.removeAll()
        for waiter in waiters { waiter.resume(returning: cause) }
    }

    // MARK: Introspection (any thread)

    /// The current worker's pid, while one runs.
    var pid: Int32? { published.withLock { $0.pid } }

    /// A snapshot for `ls` and `inspect`.
    var summary: SessionSummary {
        var summary = published.withLock { $0 }
        if summary.pid != nil, let sample = summary.pid.flatMap({ ProcessSample.read(pid: $0) }) {
            summary.residentBytes = sample.residentBytes
            summary.cpuSeconds = sample.cpuSeconds
        }
        return summary
    }

    /// Updates the published snapshot from the loop-owned state.
    private func publish() {
        let phase = machine.phase
        let link = self.link
        published.withLock { summary in
            summary.state = Self.describe(phase)
            summary.pid = link?.machine.isAlive == true ? link?.pid : nil
            summary.restarts = machine.restartCount
            summary.lastCause = machine.lastCause
            if let link {
                let counts = link.frameCounts
                summary.eventsIn = counts.received
                summary.eventsOut = counts.sent
                if let ready = link.machine.ready {
                    summary.enabledPlugins = ready.enabledPlugins
                    summary.attachedPlugins = ready.attachedPlugins
                }
                if let confinement = link.machine.confinement {
                    summary.sandboxLayers = confinement.layers.map { $0.detail.isEmpty ? $0.name : "\($0.name): \($0.detail)" }
                        + libraries.map { "plugin-library: \($0.path), sha256 \($0.sha256), \($0.size) bytes, mapped from a sealed copy after confinement; no new path" }
                }
                summary.resources = link.resources?.summary
            }
        }
    }

    private static func describe(_ phase: SessionStateMachine.Phase) -> String {
        switch phase {
        case .starting(0): return "starting"
        case .starting(let attempt): return "restarting (attempt \(attempt))"
        case .running: return "running"
        case .restarting(let attempt): return "restarting (attempt \(attempt))"
        case .disposing: return "disposing"
        case .ended(let cause): return cause.isCrash ? "crashed" : "ended"
        }
    }
}

// MARK: - The worker's events

extension SupervisedSession: WorkerLinkOwner {
    func workerBecameSpare(_ link: WorkerLink) {
        // A session's worker is assigned before its hello; a spare never belongs to a session.
        link.kill(.protocolBreach("greeted as a spare while assigned to session \(id)"))
    }

    func workerStarted(_ link: WorkerLink, ready: Ready) {
        guard link === self.link else { return }
        workerStartedAt = .now
        if let budget = cpuBudget?.budget {
            var meter = CPUBudgetMeter(budget: budget)
            if let usage = try? link.resources?.cpuUsage() { _ = meter.record(usage: usage, at: .now) }
            cpuBudget = meter
        }
        published.withLock { $0.startedAt = Date() }
        let action = machine.workerReady()
        publish()
        log.append(SessionLogEntry(time: Date(), source: .supervisor, level: "info", text: "worker \(link.pid) ready; plugins attached: \(ready.attachedPlugins.joined(separator: ", "))"))
        switch action {
        case .started: supervisor.publish(.started(id, pid: link.pid))
        case .restarted(let attempt): supervisor.publish(.restarted(id, attempt: attempt))
        case .none: break
        }
    }

    func worker(_ link: WorkerLink, called call: GlobalCall) {
        supervisor.route(call, from: link)
    }

    func worker(_ link: WorkerLink, cancelled id: UInt64) {}

    func worker(_ link: WorkerLink, logged entry: SessionLogEntry) {
        log.append(entry)
    }

    func worker(_ link: WorkerLink, printed bytes: UnsafeRawBufferPointer) {
        log.appendOutput(bytes)
    }

    func workerEnded(_ link: WorkerLink, cause: ExitCause) {
        guard link === self.link else { return }
        self.link = nil
        log.flushOutput()
        log.append(SessionLogEntry(time: Date(), source: .supervisor, level: cause.isCrash ? "error" : "info", text: "worker \(link.pid) ended: \(cause)"))
        if cause.isCrash { supervisor.workerCrashed(id, cause: cause) }
        guard let action = machine.workerEnded(cause, now: .now) else { return }
        switch action {
        case .end(let final):
            supervisor.publish(final.isCrash ? .crashed(id, final, willRestart: false) : .ended(id, final))
            finish(final)
        case .restart(let crash, let delay, _):
            publish()
            supervisor.publish(.crashed(id, crash, willRestart: true))
            loop.schedule(at: .now + delay) { [weak self] in self?.restartDue() }
        case .operatorRestart:
            publish()
            restartDue()
        }
    }
}
