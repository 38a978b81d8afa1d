import PluginSandbox
import PluginWire

/// The session a worker serves, as the supervisor assigns it: at spawn (a cold start) or later
/// (a warm spare taken from the pool).
struct SessionAssignment: Sendable, Equatable {
    /// The session id the worker is told in its welcome.
    var sessionID: String
    /// The session's settings (`RuntimeSettings` as JSON).
    var settings: RawJSON
    /// Global plugin ids enabled now (session plugins may depend on them).
    var globalPlugins: [String]
    /// What the worker does with settings naming plugins or services nobody registered
    /// (nil: the default, refuse them).
    var unknownReferences: String? = nil
}

/// What the supervisor has learned of a worker before it serves a session.
struct WorkerGreeting: Sendable, Equatable {
    /// The confinement the worker reported over its bootstrap channel, before any plugin code ran.
    var confinement: ConfinementReport
    /// Its hello (a claim: everything after the bootstrap channel closed is plugin-controlled).
    var hello: Hello
}

/// The life of one worker process as the supervisor sees it, as a value: each event is a
/// `mutating` method that returns what the owner must do. No I/O, no clock, no locks, so every
/// transition is tested as a table without spawning a process.
///
/// ```
/// confining ──bootstrap──▶ greeting ──hello──▶ spare ──assign──▶ starting ──ready──▶ running
///                                      └──(assigned at spawn)──▶ starting           │
///                                                                       dispose ──▶ disposing
/// any ──exit (pidfd)──▶ ended
/// ```
struct WorkerStateMachine: Sendable {
    enum State: Sendable {
        /// Spawned; the bootstrap channel has not reported confinement yet.
        case confining
        /// Confined; waiting for hello on the session socket.
        case greeting(ConfinementReport)
        /// Greeted, no session yet: a warm spare.
        case spare(WorkerGreeting)
        /// Welcome sent; waiting for ready.
        case starting(WorkerGreeting, SessionAssignment)
        /// Serving its session.
        case running(WorkerGreeting, SessionAssignment, Ready)
        /// Asked to detach its plugins and exit.
        case disposing(WorkerGreeting?, SessionAssignment?)
        /// Reaped, with the classified cause.
        case ended(ExitCause)
    }

    /// The worker's pid, as the spawner reported it.
    let pid: Int32
    /// Limits negotiated in the welcome.
    let limits: WorkerLimits
    /// The plugin libraries the worker loads between its confinement and its hello (paths): an
    /// end in that interval is theirs (``ExitCause/Kind/pluginLoadFailed``).
    let libraries: [String]
    private(set) var state: State = .confining
    /// The session assigned before the hello (a cold start), if any.
    private var pendingAssignment: SessionAssignment?
    /// The session the worker was last assigned (kept after it ends, for its errors).
    private var lastAssignment: SessionAssignment?
    /// The first cause the supervisor itself recorded when it killed the worker. It outranks
    /// anything the worker says or does afterwards.
    private(set) var recordedCause: ExitCause?
    /// Whether the worker has said `bye` (only once is allowed).
    private var saidBye = false

    init(pid: Int32, limits: WorkerLimits, assignment: SessionAssignment?, libraries: [String] = []) {
        self.pid = pid
        self.limits = limits
        self.libraries = libraries
        self.pendingAssignment = assignment
        self.lastAssignment = assignment
    }

    // MARK: Queries

    /// The session the worker serves (or is starting for).
    var assignment: SessionAssignment? {
        switch state {
        case .starting(_, let assignment), .running(_, let assignment, _): return assignment
        case .disposing(_, let assignment): return assignment ?? lastAssignment
        case .confining, .greeting, .spare: return pendingAssignment
        case .ended: return lastAssignment
        }
    }

    /// What the worker has said of itself.
    var greeting: WorkerGreeting? {
        switch state {
        case .spare(let greeting), .starting(let greeting, _), .running(let greeting, _, _): return greeting
        case .disposing(let greeting, _): return greeting
        case .confining, .greeting, .ended: return nil
        }
    }

    /// The confinement the worker reported, once it has.
    var confinement: ConfinementReport? {
        if case .greeting(let report) = state { return report }
        return greeting?.confinement
    }

    /// The worker's ready message, while it serves a session.
    var ready: Ready? {
        if case .running(_, _, let ready) = state { return ready }
        return nil
    }

    /// Whether the worker is serving calls (running or disposing after having run).
    var servesCalls: Bool {
        switch state {
        case .running: return true
        case .disposing(let greeting, let assignment): return greeting != nil && assignment != nil
        default: return false
        }
    }

    /// Whether the worker has ended.
    var isEnded: Bool {
        if case .ended = state { return true }
        return false
    }

    // MARK: Start

    /// What to do after the bootstrap channel spoke.
    enum BootstrapAction: Equatable {
        /// Start reading the session socket (hello comes next).
        case readSession
        /// Kill the worker with this cause.
        case kill(ExitCause)
    }

    /// The bootstrap channel reported confinement, a failure, or closed without a word (`nil`).
    mutating func bootstrapped(_ message: BootstrapMessage?) -> BootstrapAction {
        guard case .confining = state else { return .kill(record(.protocolBreach("spoke twice on its bootstrap channel"))) }
        switch message {
        case .confined(let report, _):
            state = .greeting(report)
            return .readSession
        case .failed(let failure):
            return .kill(record(.confinementFailed(failure.description)))
        case nil:
            return .kill(record(.confinementFailed("the worker closed its bootstrap channel without reporting its confinement")))
        }
    }

    /// What to do after a hello.
    enum HelloAction: Equatable {
        /// Send this welcome; the worker is starting its session.
        case welcome(Welcome)
        /// The worker waits, a spare, for ``assign(_:)``.
        case becameSpare
        /// Tell the worker why (an `error` frame), then kill it with the cause.
        case refuse(WireFailure, ExitCause)
        /// Kill the worker with this cause.
        case kill(ExitCause)
    }

    mutating func receivedHello(_ hello: Hello) -> HelloAction {
        guard case .greeting(let report) = state else { return .kill(record(.protocolBreach("sent hello out of turn"))) }
        guard hello.protocolVersion == ProtocolVersion.current else {
            let detail = "worker speaks protocol version \(hello.protocolVersion), the supervisor \(ProtocolVersion.current)"
            return .refuse(WireFailure(code: .versionMismatch, message: detail), record(.handshakeFailed(detail)))
        }
        guard hello.pid == pid else {
            return .kill(record(.protocolBreach("hello claims pid \(hello.pid), the worker is \(pid)")))
        }
        let greeting = WorkerGreeting(confinement: report, hello: hello)
        guard let assignment = pendingAssignment else {
            state = .spare(greeting)
            return .becameSpare
        }
        pendingAssignment = nil
        state = .starting(greeting, assignment)
        return .welcome(welcome(for: assignment))
    }

    /// Assigns a session to a spare. Nil when the worker is not a spare (it ended or is taken).
    mutating func assign(_ assignment: SessionAssignment) -> Welcome? {
        guard case .spare(let greeting) = state else { return nil }
        state = .starting(greeting, assignment)
        lastAssignment = assignment
        return welcome(for: assignment)
    }

    private func welcome(for assignment: SessionAssignment) -> Welcome {
        Welcome(
            sessionID: assignment.sessionID,
            settings: assignment.settings,
            globalPlugins: assignment.globalPlugins,
            maximumFrameLength: limits.maximumFrameLength,
            heartbeatIntervalMilliseconds: Int(limits.heartbeatInterval.totalMilliseconds),
            maximumInFlight: limits.maximumInFlight,
            unknownReferences: assignment.unknownReferences)
    }

    /// What to do after ready.
    enum ReadyAction: Equatable {
        /// The session is up: resolve its start with this ready.
        case started(Ready)
        /// Kill the worker with this cause.
        case kill(ExitCause)
    }

    mutating func receivedReady(_ ready: Ready) -> ReadyAction {
        guard case .starting(let greeting, let assignment) = state else {
            return .kill(record(.protocolBreach("sent ready out of turn")))
        }
        state = .running(greeting, assignment, ready)
        return .started(ready)
    }

    /// The worker reported that its session could not start (a plugin failed to attach, its
    /// settings were refused): the cause the start fails with, and the worker is killed with it.
    mutating func startFailed(_ failure: WireFailure) -> ExitCause? {
        switch state {
        case .starting: return record(.startFailed(failure.message))
        case .greeting where !libraries.isEmpty: return record(.pluginLoadFailed(failure.message))
        default: return nil
        }
    }

    // MARK: Serving

    /// Whether the worker knows its session: welcomed, and not yet ended. Its plugins may then
    /// use the global bus (they do while they attach, before ready).
    var isWelcomed: Bool {
        switch state {
        case .starting, .running: return true
        case .disposing(_, let assignment): return assignment != nil
        case .confining, .greeting, .spare, .ended: return false
        }
    }

    /// Whether a message of `kind` may arrive now; a refusal names the breach.
    func admits(_ kind: WireMessage.Kind) -> String? {
        switch kind {
        case .welcome, .settings, .ping, .dispose:
            return "sent \(kind), which only the supervisor sends"
        case .hello, .ready:
            return nil  // receivedHello / receivedReady judge the turn
        case .error, .log:
            return nil  // allowed in every phase past the bootstrap (rate-limited)
        case .emit, .request, .cancel, .bye:
            return isWelcomed ? nil : "sent \(kind) before it was given a session"
        case .emitResult, .response, .settingsResult, .pong:
            return servesCalls ? nil : "sent \(kind) before its session was ready"
        }
    }

    /// A `bye`: allowed once.
    mutating func receivedBye() -> String? {
        if saidBye { return "said bye twice" }
        saidBye = true
        return nil
    }

    // MARK: Ending

    /// What to do when the owner asks the worker to dispose.
    enum DisposeAction: Equatable {
        /// Send `dispose` and wait for the exit (with a deadline).
        case sendDispose
        /// Nothing to say to it (not serving yet): kill it.
        case kill(ExitCause)
        /// It is already disposing or ended.
        case none
    }

    mutating func dispose() -> DisposeAction {
        switch state {
        case .running(let greeting, let assignment, _):
            state = .disposing(greeting, assignment)
            return .sendDispose
        case .confining, .greeting, .spare, .starting:
            let greeting = self.greeting
            let assignment = self.assignment
            state = .disposing(greeting, assignment)
            return .kill(record(.disposed))
        case .disposing, .ended:
            return .none
        }
    }

    /// Records `cause` as the reason the supervisor kills the worker; the first recorded cause
    /// wins. Returns the cause to report (the first one).
    @discardableResult
    mutating func record(_ cause: ExitCause) -> ExitCause {
        if let recordedCause { return recordedCause }
        recordedCause = cause
        return cause
    }

    /// Whether a kill should still be sent (the worker has not been reaped).
    var isAlive: Bool { !isEnded }

    /// The worker was reaped: classifies its end from what the supervisor observed itself and
    /// moves to ``State/ended``. Returns the cause (once; nil when already ended).
    mutating func exited(_ observation: ExitObservation) -> ExitCause? {
        if case .ended = state { return nil }
        let disposing: Bool
        if case .disposing = state { disposing = true } else { disposing = false }
        var cause = ExitClassifier.classify(observation, recorded: recordedCause, disposing: disposing, greeted: greeting != nil)
        if case .greeting = state, !libraries.isEmpty, cause.isCrash, cause.kind != .pluginLoadFailed {
            cause = Self.loadFailure(cause, libraries: libraries, lastWords: observation.lastWords)
        }
        state = .ended(cause)
        return cause
    }

    /// `cause` as the failure of loading `libraries` (the worker ended after its confinement and
    /// before its hello, which is when it loads them), keeping the signal and syscall.
    static func loadFailure(_ cause: ExitCause, libraries: [String], lastWords: String?) -> ExitCause {
        var detail = "while loading plugin library \(libraries.joined(separator: ", ")): \(cause)"
        if let lastWords, !lastWords.isEmpty, cause.detail?.contains(lastWords) != true { detail += "; last output: \(lastWords)" }
        return ExitCause(kind: .pluginLoadFailed, exitCode: cause.exitCode, signal: cause.signal, syscall: cause.syscall, detail: detail)
    }
}
