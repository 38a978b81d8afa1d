/// A change in a session's life, published by the supervisor as an event on the global bus.
public enum SessionLifecycle: Sendable, Equatable {
    /// A worker finished its handshake; the session's plugins are attached.
    case started(String, pid: Int32)
    /// The session ended as asked (disposed, killed by an operator, supervisor shutdown, clean exit).
    case ended(String, ExitCause)
    /// The session's worker crashed; `willRestart` says whether its restart policy brings it back.
    case crashed(String, ExitCause, willRestart: Bool)
    /// A crashed session is running again in a new worker.
    case restarted(String, attempt: Int)

    /// The session concerned.
    public var sessionID: String {
        switch self {
        case .started(let id, _), .ended(let id, _), .crashed(let id, _, _), .restarted(let id, _): return id
        }
    }
}
