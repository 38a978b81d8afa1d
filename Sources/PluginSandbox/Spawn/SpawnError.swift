import PluginSystem
#if canImport(Glibc)
import Glibc
#endif

/// A failed spawn or process-handle operation: the step that failed, its errno, and what it
/// concerned (the call, the path, the profile key).
public struct SpawnError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The step of spawning (or of handling a spawned process) that failed.
    public struct Step: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case socketpair, pipe, duplicate, openDevNull, clone, pidfdOpen, posixSpawn
            case encodeRequest, decodeRequest, requestTooLarge
            case zygoteUnavailable, zygoteSend, zygoteReceive, zygoteReply, zygoteStart, profileZygote
            case bootstrapMissing, identityExhausted
            case signal, wait, closed
        }

        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// Creating the session or bootstrap socketpair.
        public static let socketpair = Step(.socketpair)
        /// Creating the output pipe.
        public static let pipe = Step(.pipe)
        /// Moving a descriptor out of the way (F_DUPFD).
        public static let duplicate = Step(.duplicate)
        /// Opening /dev/null for the worker's stdin.
        public static let openDevNull = Step(.openDevNull)
        /// Forking the worker from its profile zygote.
        public static let clone = Step(.clone)
        /// Opening a pidfd for the new worker.
        public static let pidfdOpen = Step(.pidfdOpen)
        /// `posix_spawn` of the worker (or zygote) executable.
        public static let posixSpawn = Step(.posixSpawn)
        /// Encoding the worker's launch plan (or a request that cannot be encoded: an environment
        /// name with `=`, too many descriptors to pass).
        public static let encodeRequest = Step(.encodeRequest)
        /// Decoding a launch plan (a malformed request).
        public static let decodeRequest = Step(.decodeRequest)
        /// A launch plan larger than the transport allows.
        public static let requestTooLarge = Step(.requestTooLarge)
        /// Zygote mode was asked for but no zygote runs (or it died).
        public static let zygoteUnavailable = Step(.zygoteUnavailable)
        /// Sending a request to a zygote.
        public static let zygoteSend = Step(.zygoteSend)
        /// Receiving a zygote's reply.
        public static let zygoteReceive = Step(.zygoteReceive)
        /// A zygote's reply was not understood.
        public static let zygoteReply = Step(.zygoteReply)
        /// Starting the zygote.
        public static let zygoteStart = Step(.zygoteStart)
        /// A profile zygote could not prepare its profile (namespaces, root, filter, ruleset);
        /// the detail names the layer.
        public static let profileZygote = Step(.profileZygote)
        /// This executable cannot serve as a worker: `WorkerBootstrap.start` was not called first.
        public static let bootstrapMissing = Step(.bootstrapMissing)
        /// Every uid of the identity pool is held by a live worker.
        public static let identityExhausted = Step(.identityExhausted)
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
    /// What the step concerned: the failing call, a path, a layer, the missing call (empty: nothing more).
    public var detail: String

    /// Creates an error for a step and errno.
    public init(step: Step, errno: Int32, detail: String = "") {
        self.step = step
        self.errno = errno
        self.detail = detail
    }

    /// The error of `step` failing in the system call `error` reports.
    init(step: Step, _ error: SystemCallError) {
        self.init(step: step, errno: error.errno.rawValue, detail: error.function)
    }

    /// Runs `body` (system calls) as spawn step `step`: its failure runs `cleanup`, then becomes
    /// this step's error.
    static func during<Value>(
        _ step: Step,
        cleanup: () -> Void = {},
        _ body: () throws(SystemCallError) -> Value
    ) throws(SpawnError) -> Value {
        do {
            return try body()
        } catch {
            cleanup()
            throw SpawnError(step: step, error)
        }
    }

    public var description: String {
        var text = "spawn step \(step) failed"
        if errno != 0 { text += ": \(String(cString: strerror(errno))) (errno \(errno))" }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}
