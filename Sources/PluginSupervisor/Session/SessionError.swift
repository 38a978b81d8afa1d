import PluginWire

/// An error a caller sees when talking to a sandboxed session.
public struct SessionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String {
            case sessionDead, timeout, cancelled, remote, unknownSession, handshake, spawn, invalidPayload, busy, startFailed, startLimited
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The session's worker is gone; ``SessionError/cause`` says why.
        public static let sessionDead = Code(.sessionDead)
        /// The call ran past its timeout.
        public static let timeout = Code(.timeout)
        /// The calling task was cancelled; the worker was told to stop.
        public static let cancelled = Code(.cancelled)
        /// A handler inside the worker (or the global scope) failed; ``SessionError/failure`` has its report.
        public static let remote = Code(.remote)
        /// No live session has that id.
        public static let unknownSession = Code(.unknownSession)
        /// The worker did not complete the handshake.
        public static let handshake = Code(.handshake)
        /// The worker process could not be spawned.
        public static let spawn = Code(.spawn)
        /// A payload could not be encoded or decoded as the expected type.
        public static let invalidPayload = Code(.invalidPayload)
        /// The session has too many calls in flight.
        public static let busy = Code(.busy)
        /// The session could not start in its worker (a plugin failed to attach, settings were
        /// refused); ``SessionError/cause`` carries the worker's report.
        public static let startFailed = Code(.startFailed)
        /// The session was not started: workers have been crashing, the supervisor's
        /// ``StartLimit`` is spacing starts, and this one's turn was too far away.
        public static let startLimited = Code(.startLimited)

        public var description: String { value.rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// The session concerned.
    public let sessionID: String
    /// A sentence a person can act on.
    public let message: String
    /// Why the worker ended, for ``Code/sessionDead``.
    public let cause: ExitCause?
    /// The remote failure, for ``Code/remote``.
    public let failure: WireFailure?

    /// Creates an error.
    public init(code: Code, sessionID: String, message: String, cause: ExitCause? = nil, failure: WireFailure? = nil) {
        self.code = code
        self.sessionID = sessionID
        self.message = message
        self.cause = cause
        self.failure = failure
    }

    /// The session is dead with `cause`.
    public static func dead(_ sessionID: String, cause: ExitCause) -> SessionError {
        SessionError(code: .sessionDead, sessionID: sessionID, message: "session \(sessionID) ended: \(cause)", cause: cause)
    }

    public var description: String { message }
}
