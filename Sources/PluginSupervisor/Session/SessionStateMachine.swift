/// The life of one session as the supervisor sees it, across its workers, as a value: each event
/// returns what the owner must do. The restart decision is ``RestartPolicy``'s pure function.
///
/// ```
/// starting ──worker ready──▶ running ──worker crashed (policy: restart)──▶ restarting ──timer──▶ starting
///    │                          │   └──worker ended / crashed (no restart, given up)──▶ ended
///    └──start failed──▶ ended   └──dispose──▶ disposing ──worker ended──▶ ended
/// ```
struct SessionStateMachine: Sendable {
    enum Phase: Sendable, Equatable {
        /// A worker is being spawned or is handshaking (`attempt` 0: the first start).
        case starting(attempt: Int)
        /// A worker serves the session.
        case running
        /// The worker crashed; a new one comes after the backoff.
        case restarting(attempt: Int)
        /// Dispose was asked for.
        case disposing
        /// The session is over.
        case ended(ExitCause)
    }

    let policy: RestartPolicy
    private(set) var phase: Phase = .starting(attempt: 0)
    private(set) var restartTimes: [ContinuousClock.Instant] = []
    private(set) var lastCause: ExitCause?
    /// An operator (or the host) killed it: no restart, whatever the cause says.
    private var killedOnPurpose = false
    /// An operator asked for a new worker: the current one is being ended for that.
    private var restartAsked = false

    init(policy: RestartPolicy) {
        self.policy = policy
    }

    /// Restarts so far.
    var restartCount: Int { restartTimes.count }

    var isEnded: Bool {
        if case .ended = phase { return true }
        return false
    }

    /// What to publish when a worker became ready.
    enum StartedAction: Equatable {
        /// The first worker: `SessionStarted`.
        case started
        /// A replacement after a crash: `SessionRestarted`.
        case restarted(attempt: Int)
        /// The session is already disposing or over: nothing.
        case none
    }

    mutating func workerReady() -> StartedAction {
        guard case .starting(let attempt) = phase else { return .none }
        phase = .running
        return attempt == 0 ? .started : .restarted(attempt: attempt)
    }

    /// What to do when the current worker ended with `cause`.
    enum EndedAction: Equatable {
        /// The session is over: publish `SessionEnded` or `SessionCrashed` (not restarting).
        case end(ExitCause)
        /// Publish `SessionCrashed(willRestart: true)` and start a new worker after `delay`.
        case restart(ExitCause, after: Duration, attempt: Int)
        /// An operator's restart: start a new worker now (it does not count against the policy).
        case operatorRestart(attempt: Int)
    }

    mutating func workerEnded(_ cause: ExitCause, now: ContinuousClock.Instant) -> EndedAction? {
        lastCause = cause
        switch phase {
        case .ended:
            return nil
        case .disposing:
            phase = .ended(cause)
            return .end(cause)
        case .starting(attempt: 0):
            // The first worker never became ready: createSession fails; nothing to restart.
            phase = .ended(cause)
            return .end(cause)
        case .starting, .running, .restarting:
            if restartAsked {
                restartAsked = false
                let attempt = restartTimes.count + 1
                phase = .restarting(attempt: attempt)
                return .operatorRestart(attempt: attempt)
            }
            if killedOnPurpose {
                phase = .ended(cause)
                return .end(cause)
            }
            switch policy.decide(cause: cause, history: restartTimes, now: now) {
            case .end:
                phase = .ended(cause)
                return .end(cause)
            case .giveUp(let reason):
                let given = ExitCause(kind: cause.kind, exitCode: cause.exitCode, signal: cause.signal, syscall: cause.syscall,
                                      detail: [cause.detail, "given up: \(reason)"].compactMap { $0 }.joined(separator: "; "))
                phase = .ended(given)
                lastCause = given
                return .end(given)
            case .restart(let delay, let attempt):
                restartTimes.append(now)
                phase = .restarting(attempt: attempt)
                return .restart(cause, after: delay, attempt: attempt)
            }
        }
    }

    /// The backoff passed: spawn the replacement. False when the session ended meanwhile.
    mutating func restartDue() -> Bool {
        guard case .restarting(let attempt) = phase else { return false }
        phase = .starting(attempt: attempt)
        return true
    }

    /// A replacement worker could not be spawned at all.
    mutating func respawnFailed(_ cause: ExitCause) -> ExitCause? {
        guard case .starting = phase else { return nil }
        phase = .ended(cause)
        lastCause = cause
        return cause
    }

    /// An operator asks for a new worker (`sandboxctl restart`): true when the current worker
    /// should be ended for it (the session is starting or running).
    mutating func requestRestart() -> Bool {
        switch phase {
        case .starting, .running:
            restartAsked = true
            return true
        case .restarting, .disposing, .ended:
            return false
        }
    }

    /// What to do when dispose is asked for.
    enum DisposeAction: Equatable {
        /// Ask the current worker to dispose.
        case disposeWorker
        /// No worker is up (restarting): the session ends now, disposed.
        case endNow(ExitCause)
        /// Already disposing or over.
        case none
    }

    mutating func dispose() -> DisposeAction {
        switch phase {
        case .starting, .running:
            phase = .disposing
            return .disposeWorker
        case .restarting:
            phase = .ended(.disposed)
            lastCause = .disposed
            return .endNow(.disposed)
        case .disposing, .ended:
            return .none
        }
    }

    /// An operator or the host kills the session: no restart follows. Returns the action for the
    /// worker: kill it, or end now when none is up.
    enum KillAction: Equatable {
        case killWorker
        case endNow(ExitCause)
        case none
    }

    mutating func kill() -> KillAction {
        killedOnPurpose = true
        restartAsked = false
        switch phase {
        case .starting, .running, .disposing:
            return .killWorker
        case .restarting:
            phase = .ended(.killedByOperator)
            lastCause = .killedByOperator
            return .endNow(.killedByOperator)
        case .ended:
            return .none
        }
    }
}
