import PluginKit

/// Published on the global bus when a session's plugins are attached in its worker.
public struct SessionStarted: WireEvent, Equatable {
    /// The session.
    public var sessionID: SessionID
    /// Its worker's pid.
    public var pid: Int32
}

/// Published on the global bus when a session ended as asked (disposed, killed, shutdown).
public struct SessionEnded: WireEvent, Equatable {
    /// The session.
    public var sessionID: SessionID
    /// Why.
    public var cause: ExitCause
}

/// Published on the global bus when a session's worker crashed, with the classified cause.
public struct SessionCrashed: WireEvent, Equatable {
    /// The session.
    public var sessionID: SessionID
    /// Why (signal, violated syscall, limit, breach, hang...).
    public var cause: ExitCause
    /// Whether the restart policy brings the session back.
    public var willRestart: Bool
}

/// Published on the global bus when a crashed session runs again in a new worker.
public struct SessionRestarted: WireEvent, Equatable {
    /// The session.
    public var sessionID: SessionID
    /// Restart number within the policy's window.
    public var attempt: Int
}

/// The supervisor's lifecycle events: only the supervisor publishes them; a worker that sends
/// one to the global bus is in breach.
public enum SessionLifecycleEvents {
    /// Their wire names.
    public static let wireNames: Set<String> = [
        SessionStarted.wireName, SessionEnded.wireName, SessionCrashed.wireName, SessionRestarted.wireName,
    ]
}
