#if canImport(Glibc)
import Glibc
#endif

/// Why a session's worker process ended: the one value every path reports, from the death
/// watch to the CLI.
///
/// Built with the static factories (`.exited(code:)`, `.seccompViolation(syscall:)`, ...);
/// ``kind`` says which, and the optional fields carry what a person needs to act.
public struct ExitCause: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The classification of an exit.
    public struct Kind: Sendable, Hashable, Codable, CustomStringConvertible {
        private enum Value: String, Codable {
            case disposed, exited, signaled, seccompViolation, memoryLimit, resourceLimit
            case heartbeatTimeout, requestTimeout, protocolBreach, killedByOperator
            case supervisorShutdown, spawnFailed, handshakeFailed, confinementFailed
            case startFailed, cpuBudget, pluginLoadFailed
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The session was disposed on request and its worker exited cleanly.
        public static let disposed = Kind(.disposed)
        /// The worker exited by itself with ``ExitCause/exitCode``.
        public static let exited = Kind(.exited)
        /// The worker was killed by ``ExitCause/signal`` (a crash: SIGSEGV, SIGABRT, SIGTRAP, ...).
        public static let signaled = Kind(.signaled)
        /// The worker made a system call its profile forbids; ``ExitCause/syscall`` names it.
        public static let seccompViolation = Kind(.seccompViolation)
        /// The worker's resident memory passed the profile's limit.
        public static let memoryLimit = Kind(.memoryLimit)
        /// The worker hit an rlimit the kernel enforces by signal (CPU time, file size).
        public static let resourceLimit = Kind(.resourceLimit)
        /// The worker stopped answering heartbeats, or one handler ran past the limit.
        public static let heartbeatTimeout = Kind(.heartbeatTimeout)
        /// A request into the worker ran past its timeout and the worker was killed as hung.
        public static let requestTimeout = Kind(.requestTimeout)
        /// The worker sent bytes that break the protocol, flooded, or stopped reading.
        public static let protocolBreach = Kind(.protocolBreach)
        /// An operator or the host killed the session.
        public static let killedByOperator = Kind(.killedByOperator)
        /// The supervisor shut down and took the session with it.
        public static let supervisorShutdown = Kind(.supervisorShutdown)
        /// The worker process could not be created.
        public static let spawnFailed = Kind(.spawnFailed)
        /// The worker never completed hello → welcome → ready.
        public static let handshakeFailed = Kind(.handshakeFailed)
        /// The worker could not engage a confinement layer its profile requires.
        public static let confinementFailed = Kind(.confinementFailed)
        /// The session could not start in its worker: a plugin failed to attach, or its settings
        /// were refused. ``ExitCause/detail`` has the worker's report.
        public static let startFailed = Kind(.startFailed)
        /// The session used more CPU time than its profile's budget allows.
        public static let cpuBudget = Kind(.cpuBudget)
        /// A plugin library could not be loaded into the worker (missing, tampered, incompatible,
        /// or its load-time code failed).
        public static let pluginLoadFailed = Kind(.pluginLoadFailed)

        public var description: String { value.rawValue }

        public init(from decoder: any Decoder) throws {
            value = try Value(from: decoder)
        }

        public func encode(to encoder: any Encoder) throws {
            try value.encode(to: encoder)
        }
    }

    /// What happened.
    public let kind: Kind
    /// The exit code, for ``Kind/exited``.
    public var exitCode: Int32?
    /// The signal that killed the worker, where one did.
    public var signal: Int32?
    /// The forbidden system call, for ``Kind/seccompViolation``.
    public var syscall: String?
    /// A human-readable detail: the breach, the limit, the hung handler.
    public var detail: String?

    /// Creates a cause; prefer the static factories.
    public init(kind: Kind, exitCode: Int32? = nil, signal: Int32? = nil, syscall: String? = nil, detail: String? = nil) {
        self.kind = kind
        self.exitCode = exitCode
        self.signal = signal
        self.syscall = syscall
        self.detail = detail
    }

    /// The session was disposed and its worker exited cleanly.
    public static let disposed = ExitCause(kind: .disposed)
    /// The worker exited on its own with `code`.
    public static func exited(code: Int32) -> ExitCause { ExitCause(kind: .exited, exitCode: code) }
    /// The worker was killed by `signal`.
    public static func signaled(_ signal: Int32) -> ExitCause { ExitCause(kind: .signaled, signal: signal) }
    /// The worker called `syscall`, which its profile forbids.
    public static func seccompViolation(syscall: String) -> ExitCause {
        ExitCause(kind: .seccompViolation, signal: SIGSYS, syscall: syscall)
    }
    /// The worker's memory passed its limit.
    public static func memoryLimit(_ detail: String) -> ExitCause { ExitCause(kind: .memoryLimit, detail: detail) }
    /// The worker hit a kernel-enforced rlimit (`SIGXCPU`, `SIGXFSZ`).
    public static func resourceLimit(signal: Int32, _ detail: String) -> ExitCause {
        ExitCause(kind: .resourceLimit, signal: signal, detail: detail)
    }
    /// The worker missed heartbeats or a handler hung; `detail` names it.
    public static func heartbeatTimeout(_ detail: String) -> ExitCause { ExitCause(kind: .heartbeatTimeout, detail: detail) }
    /// A request into the worker timed out and the worker was killed as hung.
    public static func requestTimeout(_ detail: String) -> ExitCause { ExitCause(kind: .requestTimeout, detail: detail) }
    /// The worker broke the protocol; `detail` says how.
    public static func protocolBreach(_ detail: String) -> ExitCause { ExitCause(kind: .protocolBreach, detail: detail) }
    /// An operator killed the session.
    public static let killedByOperator = ExitCause(kind: .killedByOperator, signal: SIGKILL)
    /// The supervisor shut down.
    public static let supervisorShutdown = ExitCause(kind: .supervisorShutdown)
    /// The worker could not be spawned.
    public static func spawnFailed(_ detail: String) -> ExitCause { ExitCause(kind: .spawnFailed, detail: detail) }
    /// The handshake did not complete.
    public static func handshakeFailed(_ detail: String) -> ExitCause { ExitCause(kind: .handshakeFailed, detail: detail) }
    /// A required confinement layer could not be engaged.
    public static func confinementFailed(_ detail: String) -> ExitCause { ExitCause(kind: .confinementFailed, detail: detail) }

    /// The session could not start in its worker; `detail` is the worker's report.
    public static func startFailed(_ detail: String) -> ExitCause { ExitCause(kind: .startFailed, detail: detail) }
    /// The session passed its CPU budget.
    public static func cpuBudget(_ detail: String) -> ExitCause { ExitCause(kind: .cpuBudget, signal: SIGKILL, detail: detail) }
    /// A plugin library could not be loaded.
    public static func pluginLoadFailed(_ detail: String) -> ExitCause { ExitCause(kind: .pluginLoadFailed, detail: detail) }

    /// Whether this ending is a failure of the session (what a restart policy reacts to),
    /// as opposed to an ending someone asked for.
    public var isCrash: Bool {
        switch kind {
        case .disposed, .killedByOperator, .supervisorShutdown: return false
        case .exited: return exitCode != 0
        default: return true
        }
    }

    public var description: String {
        var text = kind.description
        if let exitCode { text += " (code \(exitCode))" }
        if let syscall { text += " (syscall \(syscall))" } else if let signal { text += " (\(Self.signalName(signal)))" }
        if let detail { text += ": \(detail)" }
        return text
    }

    /// The conventional name of `signal`, e.g. `SIGSEGV`.
    public static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
            SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV",
            SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ",
            SIGSYS: "SIGSYS", SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2",
        ]
        return names[signal] ?? "signal \(signal)"
    }
}
