#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import PluginSandbox
import PluginSystem
import PluginWire
import SystemPackage

/// What waits for a reply from a worker.
enum ReplyWaiter {
    /// One caller's continuation.
    case call(CheckedContinuation<Result<WireMessage, SessionError>, Never>)
    /// One slot of a broadcast.
    case broadcast(BroadcastCollector, slot: Int)
}

/// A `globalBus` call a worker made, with the sender the supervisor knows it to be.
struct GlobalCall: Sendable {
    /// The worker's correlation id.
    let id: UInt64
    /// The sending session, as the supervisor assigned it (never as the worker claims).
    let sessionID: String
    /// The emit or request.
    let message: WireMessage
}

/// Who owns a ``WorkerLink`` and hears about it, on the link's loop.
protocol WorkerLinkOwner: AnyObject {
    /// The worker greeted without a session: it is a spare.
    func workerBecameSpare(_ link: WorkerLink)
    /// The worker's session is up (its plugins are attached).
    func workerStarted(_ link: WorkerLink, ready: Ready)
    /// The worker made a `globalBus` call; the owner answers through ``WorkerLink/reply(_:)``.
    func worker(_ link: WorkerLink, called call: GlobalCall)
    /// The worker cancelled its call `id`.
    func worker(_ link: WorkerLink, cancelled id: UInt64)
    /// The worker logged or printed something, or the supervisor noted something about it.
    func worker(_ link: WorkerLink, logged entry: SessionLogEntry)
    /// The worker's output pipe delivered bytes.
    func worker(_ link: WorkerLink, printed bytes: UnsafeRawBufferPointer)
    /// The worker was reaped; `cause` is final.
    func workerEnded(_ link: WorkerLink, cause: ExitCause)
}

/// One live worker, seen from the supervisor, on one ``EventLoop``: its state machine, the calls
/// waiting for it, its heartbeat and its rate limits, over a ``WorkerTransport`` (a real process's
/// descriptors, or an in-memory worker in tests).
///
/// Every byte the worker sends is checked here before anything acts on it. Whatever the worker
/// does, the link ends exactly once with one ``ExitCause``, and every waiter learns it.
/// Everything runs on `loop`; other threads reach it through `loop.execute`.
final class WorkerLink: @unchecked Sendable {
    // @unchecked: every stored property is read and written on `loop` only (entry points assert it).

    let loop: EventLoop
    let pid: Int32
    let spawnedAt: ContinuousClock.Instant
    let profile: SandboxProfile
    private(set) var machine: WorkerStateMachine
    private let transport: any WorkerTransport
    private let cgroup: WorkerCgroup?
    private let permissions: GlobalPermissions
    private let logger: Logger
    weak var owner: (any WorkerLinkOwner)?

    private var pending = PendingCalls<ReplyWaiter>()
    private var heartbeat: Heartbeat
    private var limiter: InboundLimiter
    private var callsFromWorker: Set<UInt64> = []
    private var handshake: CheckedContinuation<Result<Ready, SessionError>, Never>?
    private var handshakeTimer: EventLoop.TimerID?
    private var disposeTimer: EventLoop.TimerID?
    /// The worker greeted as a spare (the pool counted it as ready).
    private(set) var wasSpare = false
    private var lastOutput: [UInt8] = []
    /// Output is read at a bounded rate: past it the pipe fills and the worker waits (its own
    /// problem), and the supervisor spends nothing on a flood.
    private var outputBudget: TokenBucket
    private var outputPaused = false

    init(
        loop: EventLoop,
        transport: any WorkerTransport,
        profile: SandboxProfile,
        limits: WorkerLimits,
        policy: InboundPolicy,
        permissions: GlobalPermissions,
        cgroup: WorkerCgroup?,
        assignment: SessionAssignment?,
        logger: Logger
    ) {
        self.loop = loop
        self.pid = transport.pid
        self.transport = transport
        self.profile = profile
        self.cgroup = cgroup
        self.permissions = permissions
        let now = ContinuousClock.now
        self.spawnedAt = now
        self.machine = WorkerStateMachine(pid: transport.pid, limits: limits, assignment: assignment, libraries: transport.libraries.map(\.path))
        self.heartbeat = Heartbeat(now: now)
        self.limiter = InboundLimiter(policy: policy, now: now)
        self.outputBudget = TokenBucket(rate: policy.outputBytes.perSecond, burst: policy.outputBytes.burst, now: now)
        var logger = logger
        logger[metadataKey: "pid"] = "\(transport.pid)"
        if let assignment { logger[metadataKey: "session"] = "\(assignment.sessionID)" }
        self.logger = logger
    }

    var limits: WorkerLimits { machine.limits }

    /// The session this worker serves or starts for.
    var sessionID: String? { machine.assignment?.sessionID }

    /// Frames received and sent on the session socket.
    var frameCounts: (received: Int, sent: Int) { transport.frameCounts }

    /// The transport (tests drive an in-memory one).
    var transportForTests: any WorkerTransport { transport }

    /// The worker's cgroup, when one was engaged.
    var resources: WorkerCgroup? { cgroup }

    /// The plugin libraries the worker loads.
    var libraries: [SealedPluginLibrary] { transport.libraries }

    // MARK: Starting

    /// Watches the worker's descriptors; call once, on the loop.
    func start() {
        loop.assertInEventLoop()
        do {
            try transport.start(delegate: self)
        } catch {
            kill(.spawnFailed("could not watch the worker's descriptors: \(error)"))
            return
        }
        armHandshakeTimer()
    }

    /// Waits until the worker's session is up (its plugins attached), or why not.
    func awaitReady() async -> Result<Ready, SessionError> {
        await withCheckedContinuation { continuation in
            loop.execute { [self] in
                if let ready = machine.ready { return continuation.resume(returning: .success(ready)) }
                if case .ended(let cause) = machine.state {
                    return continuation.resume(returning: .failure(startError(cause)))
                }
                handshake = continuation
            }
        }
    }

    /// Gives a spare its session. False when it is not a spare any more (it died meanwhile).
    func assign(_ assignment: SessionAssignment) -> Bool {
        loop.assertInEventLoop()
        guard let welcome = machine.assign(assignment) else { return false }
        armHandshakeTimer()
        send(.welcome(welcome))
        return true
    }

    private func armHandshakeTimer() {
        if let handshakeTimer { loop.cancelTimer(handshakeTimer) }
        let timeout = limits.handshakeTimeout
        handshakeTimer = loop.schedule(at: .now + timeout) { [weak self] in
            guard let self else { return }
            switch machine.state {
            case .confining, .greeting, .starting:
                kill(.handshakeFailed("no ready within \(timeout)"))
            default: break
            }
        }
    }

    // MARK: Calls into the worker

    /// Sends `message` (built with correlation id `id`) and registers `waiter` for its reply.
    /// A dead or not-yet-ready worker, or a message too large to send, fails the waiter at once.
    func call(_ id: UInt64, _ message: WireMessage, what: String, timeout: Duration?, waiter: ReplyWaiter) {
        loop.assertInEventLoop()
        var frame: [UInt8] = []
        do {
            try MessageCodec.appendFrame(message, to: &frame, maximumFrameLength: limits.maximumFrameLength)
        } catch {
            return fail(waiter, with: SessionError(code: .invalidPayload, sessionID: sessionID ?? "-", message: "\(what) cannot be sent: \(error)"))
        }
        call(id, frame: frame, what: what, timeout: timeout, waiter: waiter)
    }

    /// Sends an already encoded frame for call `id` (a broadcast shares one frame between links).
    func call(_ id: UInt64, frame: [UInt8], what: String, timeout: Duration?, waiter: ReplyWaiter) {
        loop.assertInEventLoop()
        guard machine.servesCalls, transport.canSend else {
            return fail(waiter, with: notServing())
        }
        // A send that fails ends the channel, and the end fails every pending call with the cause.
        pending.insert(id, .init(waiter: waiter, deadline: .now + (timeout ?? limits.requestTimeout), what: what))
        transport.send(frame)
    }

    /// Abandons call `id` (its caller was cancelled) and tells the worker.
    func cancelCall(_ id: UInt64) {
        loop.assertInEventLoop()
        guard let entry = pending.complete(id) else { return }
        send(.cancel(Cancel(id: id)))
        fail(entry.waiter, with: SessionError(code: .cancelled, sessionID: sessionID ?? "-", message: "\(entry.what) was cancelled"))
    }

    /// Answers a `globalBus` call of the worker.
    func reply(_ message: WireMessage, to id: UInt64) {
        loop.assertInEventLoop()
        guard callsFromWorker.remove(id) != nil else { return }  // the worker cancelled it, or it ended
        send(message)
    }

    @discardableResult
    func send(_ message: WireMessage) -> Bool {
        guard transport.canSend else { return false }
        var frame: [UInt8] = []
        do {
            try MessageCodec.appendFrame(message, to: &frame, maximumFrameLength: limits.maximumFrameLength)
        } catch {
            logger.error("could not encode a frame for the worker", metadata: ["kind": "\(message.kind)", "error": "\(error)"])
            return false
        }
        return transport.send(frame)
    }

    private func notServing() -> SessionError {
        if case .ended(let cause) = machine.state { return .dead(sessionID ?? "-", cause: cause) }
        return SessionError(code: .handshake, sessionID: sessionID ?? "-", message: "session \(sessionID ?? "-") is not ready")
    }

    private func fail(_ waiter: ReplyWaiter, with error: SessionError) {
        switch waiter {
        case .call(let continuation): continuation.resume(returning: .failure(error))
        case .broadcast(let collector, let slot): collector.fill(slot, with: .failure(error))
        }
    }

    private func resolve(_ waiter: ReplyWaiter, with message: WireMessage) {
        switch waiter {
        case .call(let continuation): continuation.resume(returning: .success(message))
        case .broadcast(let collector, let slot): collector.fill(slot, with: .success(message))
        }
    }

    // MARK: Ending

    /// Kills the worker (SIGKILL through its pidfd), recording `cause` unless one was recorded first.
    func kill(_ cause: ExitCause) {
        loop.assertInEventLoop()
        guard machine.isAlive else { return }
        let recorded = machine.record(cause)
        if recorded == cause { logger.notice("killing worker", metadata: ["cause": "\(cause)"]) }
        transport.kill()
    }

    /// Kills the worker and ends its link before returning (at shutdown, when the loop stops
    /// next and would not report the exit): its descriptors and cgroup are released.
    func terminate(_ cause: ExitCause) {
        loop.assertInEventLoop()
        guard machine.isAlive else { return }
        _ = machine.record(cause)
        transport.killAndWait()
    }

    /// Asks the worker to detach its plugins and exit; kills it past `timeout`.
    func dispose(timeout: Duration) {
        loop.assertInEventLoop()
        switch machine.dispose() {
        case .sendDispose:
            send(.dispose(Dispose(reason: "disposed by the supervisor")))
            disposeTimer = loop.schedule(at: .now + timeout) { [weak self] in
                self?.kill(ExitCause(kind: .disposed, signal: SIGKILL, detail: "did not exit within \(timeout) of dispose; killed"))
            }
        case .kill(let cause):
            kill(cause)
        case .none:
            break
        }
    }

    // MARK: Health

    /// Heartbeats and call deadlines; the loop calls it on every health tick.
    func tick(now: ContinuousClock.Instant, loopLag: Duration) {
        loop.assertInEventLoop()
        guard machine.servesCalls, !machine.isEnded else { return }
        let expired = pending.expire(now: now)
        for (id, entry) in expired {
            send(.cancel(Cancel(id: id)))
            fail(entry.waiter, with: SessionError(code: .timeout, sessionID: sessionID ?? "-", message: "\(entry.what) timed out in session \(sessionID ?? "-")"))
        }
        let excused = loopLag > limits.heartbeatTimeout / 4 || transport.hasUnreadInput
        if let hang = heartbeat.hang(now: now, timeout: limits.heartbeatTimeout, excused: excused) {
            return kill(ExitClassifier.hangCause(hang, memoryCurrent: try? cgroup?.memoryCurrentBytes(),
                                                 memoryPeak: try? cgroup?.memoryPeakBytes(), memoryLimit: cgroup?.limits.memoryBytes))
        }
        if let first = expired.first {
            return kill(.requestTimeout("\(first.entry.what) ran past its timeout"))
        }
        if heartbeat.isPingDue(now: now, interval: limits.heartbeatInterval) {
            let id = CorrelationID.next()
            heartbeat.sent(id, at: now)
            send(.ping(Ping(id: id)))
        }
    }

    /// Notes the supervisor's own lag in the session's log (not blamed on the worker).
    var pendingCallCount: Int { pending.count }

    /// Keeps the last bytes of output: a crash's message, for the cause.
    private func remember(_ chunk: UnsafeRawBufferPointer) {
        lastOutput.append(contentsOf: chunk.suffix(8 * 1024))
        if lastOutput.count > 8 * 1024 { lastOutput.removeFirst(lastOutput.count - 8 * 1024) }
    }

    /// What the worker said as it died: the Swift runtime's crash message when there is one
    /// (`Fatal error: ...`, before its stack dump), else its last lines of output.
    static func lastWords(_ bytes: [UInt8]) -> String? {
        let lines = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
        let crashMarkers = ["Fatal error:", "Precondition failed", "Assertion failed", "Fatal error", "fatal error:"]
        if let message = lines.last(where: { line in crashMarkers.contains { line.contains($0) } }) {
            return LogText.escaped(String(message).trimmingCharacters(in: .whitespaces), limit: 512)
        }
        let text = lines.suffix(3).joined(separator: " / ").trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : LogText.escaped(text, limit: 512)
    }

    private func finish(_ cause: ExitCause) {
        logger.info("worker ended", metadata: ["cause": "\(cause)"])
        if let handshakeTimer { loop.cancelTimer(handshakeTimer) }
        if let disposeTimer { loop.cancelTimer(disposeTimer) }
        transport.close()
        // Removing the group waits on the kernel (exiting tasks, a v1 memory group's teardown):
        // off this loop, which serves other sessions meanwhile.
        let logger = self.logger
        cgroup?.retire { error in
            logger.warning("could not remove the worker's cgroup", metadata: ["error": "\(error)"])
        }
        callsFromWorker.removeAll()
        let error = SessionError.dead(sessionID ?? "-", cause: cause)
        for entry in pending.removeAll() { fail(entry.waiter, with: error) }
        if let handshake {
            self.handshake = nil
            handshake.resume(returning: .failure(startError(cause)))
        }
        owner?.workerEnded(self, cause: cause)
    }

    private func startError(_ cause: ExitCause) -> SessionError {
        let id = sessionID ?? "-"
        switch cause.kind {
        case .startFailed, .pluginLoadFailed:
            return SessionError(code: .startFailed, sessionID: id, message: "session \(id) could not start: \(cause.detail ?? "")", cause: cause)
        case .spawnFailed: return SessionError(code: .spawn, sessionID: id, message: "session \(id) could not spawn its worker: \(cause)", cause: cause)
        default: return SessionError(code: .handshake, sessionID: id, message: "session \(id) ended before it was ready: \(cause)", cause: cause)
        }
    }
}

// MARK: - Frames from the worker

extension WorkerLink: WorkerTransportDelegate {
    func transportBootstrapped(_ message: BootstrapMessage?) {
        switch machine.bootstrapped(message) {
        case .kill(let cause):
            kill(cause)
        case .readSession:
            do {
                try transport.openSession(maximumFrameLength: limits.maximumFrameLength,
                                          maximumQueuedBytes: limits.maximumQueuedBytes)
            } catch {
                kill(.spawnFailed("could not read the session socket: \(error)"))
            }
        }
    }

    func transportBootstrapInvalid(_ detail: String) {
        kill(.confinementFailed("the bootstrap channel carried an invalid report: \(detail)"))
    }

    func transportSeccompViolation(_ name: String) {
        kill(.seccompViolation(syscall: name))
    }

    func transportPrinted(_ chunk: UnsafeRawBufferPointer) {
        remember(chunk)
        owner?.worker(self, printed: chunk)
        let now = ContinuousClock.now
        guard !outputBudget.take(Double(chunk.count), now: now), !outputPaused, !machine.isEnded else { return }
        // Output is read at a bounded rate: past it the pipe fills and the worker waits.
        outputPaused = true
        transport.setOutputPaused(true)
        loop.schedule(at: now + .milliseconds(100)) { [weak self] in
            guard let self, outputPaused, !machine.isEnded else { return }
            outputPaused = false
            transport.setOutputPaused(false)
        }
    }

    func transportExited(_ status: TerminationStatus) {
        var observation = ExitObservation(status: status)
        if let cgroup {
            observation.killedForMemory = ((try? cgroup.oomKills()) ?? 0) > 0
            observation.memoryPeakBytes = try? cgroup.memoryPeakBytes()
            observation.memoryLimitBytes = cgroup.limits.memoryBytes
        }
        observation.lastWords = Self.lastWords(lastOutput)
        guard let cause = machine.exited(observation) else { return }
        finish(cause)
    }

    func transportReceived(_ body: ArraySlice<UInt8>) -> Bool {
        let now = ContinuousClock.now
        if let refusal = limiter.admitFrame(length: body.count, now: now) { return breach(refusal) }
        let message: WireMessage
        do {
            message = try MessageCodec.decode(body: body)
        } catch {
            return breach("sent an invalid message: \(error)")
        }
        let kind = message.kind
        if body.count > limiter.policy.maximumLength(of: kind, frameMaximum: limits.maximumFrameLength) {
            return breach("sent a \(kind) frame of \(body.count) bytes")
        }
        if let refusal = machine.admits(kind) { return breach(refusal) }
        switch message {
        case .hello(let hello):
            return receivedHello(hello)
        case .ready(let ready):
            switch machine.receivedReady(ready) {
            case .kill(let cause):
                kill(cause)
                return false
            case .started(let ready):
                if let handshakeTimer { loop.cancelTimer(handshakeTimer) }
                heartbeat = Heartbeat(now: now)
                // The owner records the session as running before its creator hears it is ready.
                owner?.workerStarted(self, ready: ready)
                if let handshake {
                    self.handshake = nil
                    handshake.resume(returning: .success(ready))
                }
            }
        case .emitResult(let result):
            return completeCall(result.id, message, now: now)
        case .response(let response):
            return completeCall(response.id, message, now: now)
        case .settingsResult(let result):
            return completeCall(result.id, message, now: now)
        case .pong(let pong):
            if let lie = heartbeat.received(pong, at: now) { return breach(lie) }
        case .emit(let emit):
            guard emit.scope == .global else { return breach("emitted into scope \(emit.scope); only global is allowed") }
            return admitGlobalCall(emit.id, name: emit.event, isRequest: false, message: message, now: now)
        case .request(let request):
            guard request.scope == .global else { return breach("sent a request to scope \(request.scope); only global is allowed") }
            return admitGlobalCall(request.id, name: request.name, isRequest: true, message: message, now: now)
        case .cancel(let cancel):
            if callsFromWorker.remove(cancel.id) != nil {
                owner?.worker(self, cancelled: cancel.id)
            } else if let breach = limiter.admitUnsolicited("cancel \(cancel.id)", now: now) {
                return self.breach(breach)
            }
        case .log(let record):
            return receivedLog(record, now: now)
        case .error(let failure):
            if let breach = limiter.admitError(now: now) { return self.breach(breach) }
            if let cause = machine.startFailed(failure) {
                kill(cause)
                return false
            }
            let text = LogText.escaped(failure.message, limit: limiter.policy.maximumLogTextLength)
            logger.warning("worker reported an error", metadata: ["code": "\(failure.code)", "worker.message": "\(text)"])
            owner?.worker(self, logged: SessionLogEntry(time: Date(), source: .plugin, level: "error", text: "worker error \(failure.code): \(text)"))
        case .bye:
            if let breach = machine.receivedBye() { return self.breach(breach) }
        case .welcome, .settings, .ping, .dispose:
            return breach("sent \(kind), which only the supervisor sends")
        }
        return !machine.isEnded
    }

    func transportSessionEnded(_ ended: ChannelEnd) {
        switch ended {
        case .invalidFrame(let detail):
            breach("sent an invalid frame: \(detail)")
        case .outboundOverflow(let bytes):
            breach("stopped reading its socket (\(bytes) bytes queued)")
        case .failed(let error):
            kill(.protocolBreach("its session socket failed: \(error)"))
        case .closed:
            if case .disposing = machine.state { return }
            // A worker that exits closes its socket first: give the pidfd a moment to say how it ended.
            loop.schedule(at: .now + .milliseconds(200)) { [weak self] in
                self?.kill(.protocolBreach("closed its session socket while running"))
            }
        }
    }

    private func receivedHello(_ hello: Hello) -> Bool {
        switch machine.receivedHello(hello) {
        case .welcome(let welcome):
            send(.welcome(welcome))
        case .becameSpare:
            if let handshakeTimer { loop.cancelTimer(handshakeTimer) }
            wasSpare = true
            owner?.workerBecameSpare(self)
        case .refuse(let failure, let cause):
            send(.error(failure))
            kill(cause)
            return false
        case .kill(let cause):
            kill(cause)
            return false
        }
        return true
    }

    private func completeCall(_ id: UInt64, _ message: WireMessage, now: ContinuousClock.Instant) -> Bool {
        if let entry = pending.complete(id) {
            resolve(entry.waiter, with: message)
            return true
        }
        // A reply nobody waits for: late (timed out, cancelled), or made up. Bounded.
        if let breach = limiter.admitUnsolicited("\(message.kind) \(id)", now: now) { return self.breach(breach) }
        return true
    }

    private func admitGlobalCall(_ id: UInt64, name: String, isRequest: Bool, message: WireMessage, now: ContinuousClock.Instant) -> Bool {
        if let breach = limiter.admitGlobalCall(now: now) { return self.breach(breach) }
        guard callsFromWorker.count < limits.maximumInFlight else {
            return breach("had more than \(limits.maximumInFlight) global calls in flight")
        }
        guard callsFromWorker.insert(id).inserted else { return breach("reused call id \(id) while it was in flight") }
        if let refusal = permissions.refusal(name: name, isRequest: isRequest) {
            switch refusal {
            case .reserved:
                return breach("sent \(name), a name only the supervisor publishes")
            case .notPermitted(let failure):
                reply(isRequest ? .response(Response(id: id, payload: nil, error: failure))
                                : .emitResult(EmitResult(id: id, handled: 0, stopped: false, payload: nil, error: failure)), to: id)
                return true
            }
        }
        guard let sessionID else { return breach("made a global call before its session was assigned") }
        owner?.worker(self, called: GlobalCall(id: id, sessionID: sessionID, message: message))
        return true
    }

    private func receivedLog(_ record: LogRecord, now: ContinuousClock.Instant) -> Bool {
        if let breach = limiter.admitLog(textLength: record.message.utf8.count, now: now) { return self.breach(breach) }
        let policy = limiter.policy
        let text = LogText.escaped(record.message, limit: policy.maximumLogTextLength)
        var pluginMetadata: [String: String] = [:]
        for (key, value) in record.metadata.sorted(by: { $0.key < $1.key }).prefix(policy.maximumLogMetadata) {
            pluginMetadata[LogText.escaped(key, limit: 64)] = LogText.escaped(value, limit: 256)
        }
        let level = Logger.Level(rawValue: record.level) ?? .info
        var metadata = Logger.Metadata()
        // Worker keys live under `plugin.`: they can never replace the supervisor's `session` or `pid`.
        for (key, value) in pluginMetadata { metadata["plugin.\(key)"] = "\(value)" }
        logger.log(level: level, "\(text)", metadata: metadata)
        owner?.worker(self, logged: SessionLogEntry(time: Date(), source: .plugin, level: level.rawValue, text: text, metadata: pluginMetadata))
        return true
    }

    @discardableResult
    private func breach(_ detail: String) -> Bool {
        logger.warning("protocol breach", metadata: ["detail": "\(detail)"])
        kill(.protocolBreach(detail))
        return false
    }
}
