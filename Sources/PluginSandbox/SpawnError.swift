#if canImport(Glibc)
import Glibc
#endif

/// A failed spawn or process-handle operation: the step that failed and its errno.
public struct SpawnError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The step of spawning (or of handling a spawned process) that failed.
    public struct Step: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case socketpair, pipe, duplicate, openDevNull, clone, pidfdOpen, posixSpawn
            case encodeRequest, decodeRequest, requestTooLarge
            case zygoteUnavailable, zygoteSend, zygoteReceive, zygoteReply, zygoteStart
            case signal, wait, closed
        }

        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// Creating the session socketpair.
        public static let socketpair = Step(.socketpair)
        /// Creating the output or report pipe.
        public static let pipe = Step(.pipe)
        /// Moving a descriptor out of the way (F_DUPFD).
        public static let duplicate = Step(.duplicate)
        /// Opening /dev/null for the worker's stdin.
        public static let openDevNull = Step(.openDevNull)
        /// Forking the worker from the zygote.
        public static let clone = Step(.clone)
        /// Opening a pidfd for the new worker.
        public static let pidfdOpen = Step(.pidfdOpen)
        /// `posix_spawn` of the worker executable.
        public static let posixSpawn = Step(.posixSpawn)
        /// Encoding the worker's launch plan.
        public static let encodeRequest = Step(.encodeRequest)
        /// Decoding a launch plan (a malformed request).
        public static let decodeRequest = Step(.decodeRequest)
        /// A launch plan larger than the transport allows.
        public static let requestTooLarge = Step(.requestTooLarge)
        /// Zygote mode was asked for but no zygote runs (or it died).
        public static let zygoteUnavailable = Step(.zygoteUnavailable)
        /// Sending a request to the zygote.
        public static let zygoteSend = Step(.zygoteSend)
        /// Receiving the zygote's reply.
        public static let zygoteReceive = Step(.zygoteReceive)
        /// The zygote's reply was not understood.
        public static let zygoteReply = Step(.zygoteReply)
        /// Starting the zygote.
        public static let zygoteStart = Step(.zygoteStart)
        /// Sending a signal through a pidfd.
        public static let signal = Step(.signal)
        /// Waiting for (reaping) a process through its pidfd.
        public static let wait = Step(.wait)
        /// Using a process handle after `close()`.
        public static let closed = Step(.closed)

        /// The step's name, e.g. "posixSpawn".
        public var description: String { kind.rawValue }

        /// The step with the given name, or nil when there is none.
        public init?(name: String) {
            guard let kind = Kind(rawValue: name) else { return nil }
            self.kind = kind
        }
    }

    /// The step that failed.
    public var step: Step
    /// The errno of the failing call (0 when the failure was not a system call).
    public var errno: Int32

    /// Creates an error for a step and errno.
    public init(step: Step, errno: Int32) {
        self.step = step
        self.errno = errno
    }

    public var description: String {
        if errno == 0 { return "spawn step \(step) failed" }
        return "spawn step \(step) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
