#if canImport(Glibc)
import Glibc
#endif
import Logging
import PluginSandbox
import PluginWire
import Synchronization

/// One live worker process of a session, seen from the supervisor: its socket, its pidfd, its
/// output pipe, its bootstrap channel and seccomp listener, the calls in flight, its heartbeat and its end.
///
/// Everything the worker sends is checked here before anything acts on it. Whatever the worker
/// does, the link ends exactly once, with one ``ExitCause``, and every pending call fails with it.
final class WorkerLink: Sendable {
    private enum Phase {
        case handshaking(CheckedContinuation<Result<Ready, SessionError>, Never>?)
        case running
        case disposing
        case ended(ExitCause)
    }

    private struct Pending {
        let continuation: CheckedContinuation<Result<WireMessage, SessionError>, Never>
        let deadline: ContinuousClock.Instant?
        let what: String
    }

    private struct State {
        var phase: Phase = .handshaking(nil)
        var pending: [UInt64: Pending] = [:]
        var nextID: UInt64 = 1
        var killCause: ExitCause?
        // LEAD: what the bootstrap channel said: the start failure, or the violation listener.
        var startFailure: WorkerStartFailure?
        var listener: SeccompListener?
        var bootstrapOpen = true
        var lastPing: ContinuousClock.Instant
        var lastPong: ContinuousClock.Instant
        var busy: BusyHandler?
        var inFlightFromWorker = 0
        var logWindow: (start: ContinuousClock.Instant, count: Int)
        var sample: ProcessSample?
        var ready: Ready?
        var hello: Hello?
        var endWaiters: [CheckedContinuation<ExitCause, Never>] = []
        var outputOpen = true
    }

    let sessionID: String
    let pid: Int32
    let startedAt = ContinuousClock.now
    let settings: JSONValue
    private let worker: SpawnedWorker
    private let limits: WorkerLimits
    private let router: any GlobalRouter
    private let logger: Logger
    private let capture: OutputCapture
    private let reactor: Reactor
    private let state: Mutex<State>
    private let connectionBox = Mutex<FrameConnection<WireMessage>?>(nil)
    private let onEnd: @Sendable (ExitCause) -> Void

    /// Takes ownership of `worker`'s descriptors and starts watching them.
    init(
        sessionID: String,
        worker: SpawnedWorker,
        settings: JSONValue,
        limits: WorkerLimits,
        router: any GlobalRouter,
        reactor: Reactor,
        capture: OutputCapture,
        logger: Logger,
        onEnd: @escaping @Sendable (ExitCause) -> Void
    ) throws(SystemCallError) {
        self.sessionID = sessionID
        self.pid = worker.pid
        self.worker = worker
        self.settings = settings
        self.limits = limits
        self.router = router
        self.reactor = reactor
        self.capture = capture
        self.onEnd = onEnd
        var logger = logger
        logger[metadataKey: "session"] = "\(sessionID)"
        logger[metadataKey: "pid"] = "\(worker.pid)"
        self.logger = logger
        let now = ContinuousClock.now
        self.state = Mutex(State(lastPing: now, lastPong: now, logWindow: (now, 0)))

        let flags = fcntl(worker.output.rawValue, F_GETFL)
        _ = fcntl(worker.output.rawValue, F_SETFL, flags | O_NONBLOCK)
        let connection = try FrameConnection(
            descriptor: worker.socket.rawValue,
            reactor: reactor,
            maximumFrameLength: limits.maximumFrameLength,
            maximumQueuedBytes: limits.maximumQueuedBytes,
            decode: { body in try MessageCodec.decode(body: body) },
            onMessage: { [weak self] message in self?.receive(message) },
            onEnd: { [weak self] end in self?.connectionEnded(end) }
        )
        connectionBox.withLock { $0 = connection }
        try connection.start()
        try reactor.register(worker.output.rawValue, interest: [.readable]) { [weak self] _ in self?.drainOutput() }
        // LEAD: the bootstrap channel is read once, for the confinement report and the violation listener.
        try reactor.register(worker.bootstrap.rawValue, interest: [.readable]) { [weak self] _ in self?.readBootstrap() }
        try reactor.register(worker.process.pidfd.rawValue, interest: [.readable]) { [weak self] _ in self?.processExited() }
    }

    private var connection: FrameConnection<WireMessage>? { connectionBox.withLock { $0 } }

    // MARK: Handshake

    /// Waits for hello, answers welcome, waits for ready.
    func handshake() async throws(SessionError) -> Ready {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Ready, SessionError>, Never>) in
            let early: Result<Ready, SessionError>? = state.withLock { state in
                switch state.phase {
                case .handshaking:
                    state.phase = .handshaking(continuation)
                    return nil
                case .running, .disposing:
                    if let ready = state.ready { return .success(ready) }
                    return .failure(SessionError(code: .handshake, sessionID: sessionID, message: "handshake already done"))
                case .ended(let cause):
                    return .failure(.dead(sessionID, cause: cause))
                }
            }
            if let early { continuation.resume(returning: early) }
        }
        return try result.get()
    }

    /// The hello the worker sent, once it has.
    var hello: Hello? { state.withLock { $0.hello } }

    // MARK: Calls into the worker

    /// Sends the message `make(id)` and waits for the reply with that correlation id.
    func call(
        _ what: String,
        timeout: Duration? = nil,
        _ make: (UInt64) -> WireMessage
    ) async throws(SessionError) -> WireMessage {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let message = make(id)
        let deadline = ContinuousClock.now + (timeout ?? limits.requestTimeout)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<WireMessage, SessionError>, Never>) in
                let refused: SessionError? = state.withLock { state in
                    switch state.phase {
                    case .ended(let cause): return .dead(sessionID, cause: cause)
                    case .handshaking: return SessionError(code: .handshake, sessionID: sessionID, message: "session \(sessionID) is not ready")
                    case .running, .disposing:
                        if Task.isCancelled {
                            return SessionError(code: .cancelled, sessionID: sessionID, message: "\(what) was cancelled")
                        }
                        state.pending[id] = Pending(continuation: continuation, deadline: deadline, what: what)
                        return nil
                    }
                }
                if let refused {
                    continuation.resume(returning: .failure(refused))
                } else if connection?.send(message) != true {
                    // The connection is gone: the end path fails the pending entry with the cause.
                    logger.debug("send failed; waiting for the end", metadata: ["call": "\(what)"])
                }
            }
        } onCancel: {
            if let pending = state.withLock({ $0.pending.removeValue(forKey: id) }) {
                connection?.send(.cancel(Cancel(id: id)))
                pending.continuation.resume(returning: .failure(
                    SessionError(code: .cancelled, sessionID: sessionID, message: "\(what) was cancelled")))
            }
        }
        return try result.get()
    }

    /// Sends a message that expects no reply; false when the connection is gone.
    @discardableResult
    func send(_ message: WireMessage) -> Bool {
        connection?.send(message) ?? false
    }

    // MARK: Ending

    /// Kills the worker with SIGKILL, recording `cause` as the reason (the first reason wins).
    func kill(_ cause: ExitCause) {
        let alive = state.withLock { state -> Bool in
            if case .ended = state.phase { return false }
            if state.killCause == nil { state.killCause = cause }
            return true
        }
        guard alive else { return }
        logger.notice("killing worker", metadata: ["cause": "\(cause)"])
        try? worker.process.signal(SIGKILL)
    }

    /// Asks the worker to detach its plugins and exit; kills it if it has not within `timeout`.
    func dispose(timeout: Duration) async -> ExitCause {
        let send = state.withLock { state -> Bool in
            switch state.phase {
            case .running, .handshaking:
                state.phase = .disposing
                return true
            case .disposing, .ended:
                return false
            }
        }
        if send { connection?.send(.dispose(Dispose(reason: "disposed by the supervisor"))) }
        let watchdog = Task { [weak self] in
            do { try await Task.sleep(for: timeout) } catch { return }
            self?.kill(ExitCause(kind: .disposed, signal: SIGKILL, detail: "did not exit within \(timeout) of dispose; killed"))
        }
        let cause = await ended()
        watchdog.cancel()
        return cause
    }

    /// Waits until the worker process has been reaped and returns why it ended.
    func ended() async -> ExitCause {
        await withCheckedContinuation { continuation in
            let cause: ExitCause? = state.withLock { state in
                if case .ended(let cause) = state.phase { return cause }
                state.endWaiters.append(continuation)
                return nil
            }
            if let cause { continuation.resume(returning: cause) }
        }
    }

    /// The cause, once the worker has ended.
    var endCause: ExitCause? {
        state.withLock { state in
            if case .ended(let cause) = state.phase { return cause }
            return nil
        }
    }

    // MARK: Health

    /// Called periodically by the supervisor: heartbeats, call deadlines, memory sampling.
    func tick(now: ContinuousClock.Instant, sampleMemory: Bool) {
        var expired: [(UInt64, Pending)] = []
        var hang: ExitCause?
        var ping: UInt64?
        state.withLock { state in
            guard case .running = state.phase else { return }
            for (id, pending) in state.pending where pending.deadline.map({ now >= $0 }) ?? false {
                expired.append((id, pending))
            }
            for (id, _) in expired { state.pending[id] = nil }
            let silence = now - state.lastPong
            if silence > limits.heartbeatTimeout {
                hang = .heartbeatTimeout("no heartbeat answer for \(silence.formattedMilliseconds)")
            } else if let busy = state.busy, Duration.milliseconds(busy.sinceMilliseconds) > limits.heartbeatTimeout {
                let plugin = busy.plugin.map { " in plugin \($0)" } ?? ""
                hang = .heartbeatTimeout("handler for \(busy.event)\(plugin) has run for \(busy.sinceMilliseconds) ms")
            }
            if now - state.lastPing >= limits.heartbeatInterval {
                state.lastPing = now
                ping = state.nextID
                state.nextID += 1
            }
        }
        for (id, pending) in expired {
            pending.continuation.resume(returning: .failure(SessionError(
                code: .timeout, sessionID: sessionID, message: "\(pending.what) timed out in session \(sessionID)")))
            connection?.send(.cancel(Cancel(id: id)))
            if hang == nil { hang = .requestTimeout("\(pending.what) ran past its timeout") }
        }
        if let hang {
            kill(hang)
            return
        }
        if let ping { connection?.send(.ping(Ping(id: ping))) }
        if sampleMemory, let sample = ProcessSample.read(pid: pid) {
            state.withLock { $0.sample = sample }
            if let limit = limits.memoryLimitBytes, sample.residentBytes > limit {
                kill(.memoryLimit("resident \(sample.residentBytes >> 20) MiB over the limit of \(limit >> 20) MiB"))
            }
        }
    }

    /// The newest resource sample and frame counters.
    var statistics: (sample: ProcessSample?, framesIn: Int, framesOut: Int) {
        let counts = connection?.frameCounts ?? (received: 0, sent: 0)
        return (state.withLock { $0.sample }, counts.received, counts.sent)
    }

    // MARK: Receiving

    private func receive(_ message: WireMessage) {
        switch message {
        case .hello(let hello):
            receiveHello(hello)
        case .ready(let ready):
            let continuation = state.withLock { state -> CheckedContinuation<Result<Ready, SessionError>, Never>?? in
                guard case .handshaking(let continuation) = state.phase, state.hello != nil else { return .none }
                state.ready = ready
                state.phase = .running
                state.lastPong = .now
                return .some(continuation)
            }
            switch continuation {
            case .none: breach("sent ready outside the handshake")
            case .some(let waiting): waiting?.resume(returning: .success(ready))
            }
        case .emitResult(let result):
            complete(result.id, message)
        case .response(let response):
            complete(response.id, message)
        case .settingsResult(let result):
            complete(result.id, message)
        case .pong(let pong):
            state.withLock { state in
                state.lastPong = .now
                state.busy = pong.busy
            }
        case .emit(let emit):
            guard emit.scope == .global else { return breach("emitted into scope \(emit.scope), only global is allowed") }
            guard admit() else { return }
            Task { await self.routeEmit(emit) }
        case .request(let request):
            guard request.scope == .global else { return breach("sent a request to scope \(request.scope), only global is allowed") }
            guard admit() else { return }
            Task { await self.routeRequest(request) }
        case .log(let record):
            receiveLog(record)
        case .bye(let bye):
            logger.debug("worker said bye", metadata: ["reason": "\(bye.reason)"])
        case .error(let failure):
            logger.warning("worker reported an error", metadata: ["code": "\(failure.code)", "message": "\(failure.message)"])
        case .cancel:
            break
        case .welcome, .settings, .ping, .dispose:
            breach("sent \(message.kind), which only the supervisor sends")
        }
    }

    private func receiveHello(_ hello: Hello) {
        let accepted: Bool = state.withLock { state in
            guard case .handshaking = state.phase, state.hello == nil else { return false }
            state.hello = hello
            return true
        }
        guard accepted else { return breach("sent a second hello") }
        guard hello.protocolVersion == ProtocolVersion.current else {
            connection?.send(.error(WireFailure(
                code: .versionMismatch,
                message: "protocol version \(hello.protocolVersion) is not supported; this supervisor speaks \(ProtocolVersion.current)")))
            return kill(.handshakeFailed("worker speaks protocol version \(hello.protocolVersion), supervisor \(ProtocolVersion.current)"))
        }
        guard hello.sessionID == sessionID, hello.pid == pid else {
            return kill(.protocolBreach("hello claims session \(hello.sessionID) pid \(hello.pid), expected \(sessionID) pid \(pid)"))
        }
        connection?.send(.welcome(Welcome(
            protocolVersion: ProtocolVersion.current,
            sessionID: sessionID,
            settings: settings,
            maximumFrameLength: limits.maximumFrameLength,
            heartbeatIntervalMilliseconds: Int(limits.heartbeatInterval.totalMilliseconds),
            maximumInFlight: limits.maximumInFlight
        )))
    }

    private func receiveLog(_ record: LogRecord) {
        let flooding = state.withLock { state -> Bool in
            let now = ContinuousClock.now
            if now - state.logWindow.start >= .seconds(1) {
                state.logWindow = (now, 0)
            }
            state.logWindow.count += 1
            return state.logWindow.count > limits.maximumLogRate
        }
        if flooding { return breach("sent more than \(limits.maximumLogRate) log records in a second") }
        var metadata = Logger.Metadata()
        for (key, value) in record.metadata { metadata[key] = "\(value)" }
        let level = Logger.Level(rawValue: record.level) ?? .info
        logger.log(level: level, "\(record.message)", metadata: metadata)
    }

    /// Counts a worker-initiated call against the in-flight bound; false (and a breach) past it.
    private func admit() -> Bool {
        let over = state.withLock { state -> Bool in
            state.inFlightFromWorker += 1
            return state.inFlightFromWorker > limits.maximumInFlight
        }
        if over { breach("had more than \(limits.maximumInFlight) calls in flight") }
        return !over
    }

    private func release() {
        state.withLock { $0.inFlightFromWorker -= 1 }
    }

    private func routeEmit(_ emit: Emit) async {
        defer { release() }
        let reply: EmitResult
        do {
            let result = try await router.emit(event: emit.event, payload: emit.payload, identifier: emit.identifier, from: sessionID)
            reply = EmitResult(id: emit.id, payload: result.payload, stopped: result.stopped, error: nil)
        } catch {
            reply = EmitResult(id: emit.id, payload: nil, stopped: false, error: WireFailure(describing: error))
        }
        connection?.send(.emitResult(reply))
    }

    private func routeRequest(_ request: Request) async {
        defer { release() }
        let reply: Response
        do {
            let answer = try await router.request(
                name: request.name, payload: request.payload, identifier: request.identifier,
                optional: request.optional, from: sessionID)
            reply = Response(id: request.id, payload: answer, error: nil)
        } catch {
            reply = Response(id: request.id, payload: nil, error: WireFailure(describing: error))
        }
        connection?.send(.response(reply))
    }

    private func complete(_ id: UInt64, _ message: WireMessage) {
        // A reply for an id nobody waits for is late (timed out, cancelled), not a breach.
        state.withLock { $0.pending.removeValue(forKey: id) }?.continuation.resume(returning: .success(message))
    }

    private func breach(_ detail: String) {
        logger.warning("protocol breach", metadata: ["detail": "\(detail)"])
        kill(.protocolBreach(detail))
    }

    private func connectionEnded(_ end: ConnectionEnd) {
        switch end {
        case .breach(let detail):
            breach("sent an invalid frame: \(detail)")
        case .outboundOverflow(let bytes):
            breach("stopped reading its socket (\(bytes) bytes queued)")
        case .failed(let error):
            kill(.protocolBreach("socket failed: \(error)"))
        case .closed:
            // A worker that exits closes its socket first; give the pidfd a moment to say how it ended.
            let disposing = state.withLock { state -> Bool in
                if case .disposing = state.phase { return true }
                return false
            }
            if disposing { return }
            Task { [weak self] in
                try? await Task.sleep(for: .milliseconds(200))
                self?.kill(.protocolBreach("closed its socket while running"))
            }
        }
    }

    // MARK: Pipes and death

    private func drainOutput() {
        drain(worker.output.rawValue) { capture.append($0) } onEOF: {
            state.withLock { $0.outputOpen = false }
        }
    }

    /// LEAD: reads the worker's one bootstrap message: a start failure is kept for the end cause;
    /// the seccomp listener is watched, and a notification on it ends the worker naming the call.
    private func readBootstrap() {
        guard state.withLock({ $0.bootstrapOpen }) else { return }
        let message: BootstrapMessage
        do {
            guard let received = try BootstrapMessage.receive(from: worker.bootstrap) else { return }
            message = received
        } catch {
            closeBootstrap()
            if error.reason != .closedWithoutMessage {
                kill(.confinementFailed("bootstrap channel: \(error)"))
            }
            return
        }
        closeBootstrap()
        switch message {
        case .failed(let failure):
            state.withLock { $0.startFailure = failure }
        case .confined(_, let listener):
            guard let listener else { return }
            state.withLock { $0.listener = listener }
            do {
                try reactor.register(listener.descriptor.rawValue, interest: [.readable]) { [weak self] _ in self?.violationReported() }
            } catch {
                kill(.confinementFailed("cannot watch the seccomp listener: \(error)"))
            }
        }
    }

    private func closeBootstrap() {
        state.withLock { $0.bootstrapOpen = false }
        reactor.deregister(worker.bootstrap.rawValue)
        try? worker.bootstrap.close()
    }

    /// LEAD: the worker's filter stopped a call: the worker ends, with the call's name as the cause.
    private func violationReported() {
        guard let listener = state.withLock({ $0.listener }) else { return }
        while let notification = try? listener.receive() {
            kill(.seccompViolation(syscall: notification.description))
        }
    }

    private func drain(_ descriptor: Int32, _ consume: ([UInt8]) -> Void, onEOF: () -> Void) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                consume(Array(buffer[0..<count]))
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count == 0 {
                reactor.deregister(descriptor)
                onEOF()
            }
            return
        }
    }

    private func processExited() {
        guard let status = try? worker.process.reap() else { return }
        readBootstrap()
        violationReported()
        drainOutput()
        let (cause, waiters, pending, handshake) = state.withLock { state in
            let cause = classify(status, state: state)
            var handshake: CheckedContinuation<Result<Ready, SessionError>, Never>?
            if case .handshaking(let waiting) = state.phase { handshake = waiting }
            state.phase = .ended(cause)
            defer {
                state.endWaiters.removeAll()
                state.pending.removeAll()
            }
            return (cause, state.endWaiters, Array(state.pending.values), handshake)
        }
        logger.info("worker ended", metadata: ["cause": "\(cause)"])
        connection?.close()
        reactor.deregister(worker.process.pidfd.rawValue)
        reactor.deregister(worker.output.rawValue)
        try? worker.output.close()
        if let listener = state.withLock({ $0.listener }) {
            reactor.deregister(listener.descriptor.rawValue)
            listener.close()
        }
        if state.withLock({ $0.bootstrapOpen }) { closeBootstrap() }
        worker.process.close()
        let failure = SessionError.dead(sessionID, cause: cause)
        handshake?.resume(returning: .failure(failure))
        for entry in pending { entry.continuation.resume(returning: .failure(failure)) }
        for waiter in waiters { waiter.resume(returning: cause) }
        onEnd(cause)
    }

    private func classify(_ status: TerminationStatus, state: State) -> ExitCause {
        let disposing: Bool
        if case .disposing = state.phase { disposing = true } else { disposing = false }
        switch status {
        case .signaled(let signal, _) where signal == SIGKILL:
            return state.killCause ?? .signaled(SIGKILL)
        case .signaled(let signal, _) where signal == SIGXCPU:
            return .resourceLimit(signal: signal, "CPU time limit reached")
        case .signaled(let signal, _) where signal == SIGXFSZ:
            return .resourceLimit(signal: signal, "file size limit reached")
        case .signaled(let signal, _):
            // Only SIGKILL can be ours; any other signal is what really ended the worker.
            return .signaled(signal)
        case .exited(let code) where code == 0 && disposing:
            return .disposed
        case .exited(let code):
            if code == WorkerBootstrap.confinementFailureExitCode, let failure = state.startFailure, state.hello == nil {
                return .confinementFailed("\(failure.stage): \(failure.detail)")
            }
            return state.killCause ?? .exited(code: code)
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var totalMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// `"123 ms"`.
    var formattedMilliseconds: String { "\(totalMilliseconds) ms" }
}
