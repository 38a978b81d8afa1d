#if canImport(Glibc)
import Glibc
#endif
import PluginSandbox

/// What the supervisor observed itself when a worker ended: never anything the worker said.
struct ExitObservation: Sendable, Equatable {
    /// How the process ended (pidfd + waitid).
    var status: TerminationStatus
    /// The memory cgroup's OOM killer ended a process of the worker's group.
    var killedForMemory = false
    /// The group's peak memory use and its limit, when a memory cgroup was engaged.
    var memoryPeakBytes: UInt64?
    var memoryLimitBytes: UInt64?
    /// The last lines the worker wrote to stderr before it died (a crash message, for people).
    var lastWords: String?
}

/// Turns an observed end into the one ``ExitCause`` every path reports.
///
/// Precedence: a cause the supervisor recorded when it killed the worker (breach, timeout,
/// operator kill, a seccomp violation its listener saw, a CPU budget) outranks everything; then
/// the kernel's own verdicts (the OOM killer, rlimit signals); then the exit status.
enum ExitClassifier {
    static func classify(_ observation: ExitObservation, recorded: ExitCause?, disposing: Bool, greeted: Bool) -> ExitCause {
        let status = observation.status
        if let recorded {
            guard recorded.kind == .disposed else { return recorded }
            switch status {
            case .exited(0): return .disposed
            case .signaled(let signal, _) where signal == SIGKILL:
                return ExitCause(kind: .disposed, signal: SIGKILL, detail: recorded.detail ?? "killed by the supervisor while disposing")
            default: break  // it crashed on its own while disposing: the crash is the cause
            }
        }
        var cause: ExitCause
        switch status {
        case .signaled(let signal, _) where signal == SIGKILL && observation.killedForMemory:
            cause = .memoryLimit(memoryDetail(observation))
        case .signaled(let signal, _) where signal == SIGXCPU:
            cause = .resourceLimit(signal: signal, "CPU time limit (RLIMIT_CPU) reached")
        case .signaled(let signal, _) where signal == SIGXFSZ:
            cause = .resourceLimit(signal: signal, "file size limit reached")
        case .signaled(let signal, _) where signal == SIGSYS:
            cause = ExitCause(kind: .seccompViolation, signal: SIGSYS, syscall: "a system call of a foreign architecture",
                              detail: "the seccomp filter killed the process")
        case .signaled(let signal, _):
            cause = .signaled(signal)
        case .exited(0) where disposing:
            return .disposed
        case .exited(let code):
            cause = .exited(code: code)
        }
        if let words = observation.lastWords, !words.isEmpty, cause.isCrash, greeted {
            cause.detail = [cause.detail, "last output: \(words)"].compactMap { $0 }.joined(separator: "; ")
        }
        return cause
    }

    private static func memoryDetail(_ observation: ExitObservation) -> String {
        let mib = { (bytes: UInt64) in "\(bytes >> 20) MiB" }
        switch (observation.memoryPeakBytes, observation.memoryLimitBytes) {
        case let (peak?, limit?): return "peak \(mib(peak)) against the memory cgroup's limit of \(mib(limit)); the kernel's OOM killer ended it"
        case let (nil, limit?): return "over the memory cgroup's limit of \(mib(limit)); the kernel's OOM killer ended it"
        default: return "the memory cgroup's OOM killer ended it"
        }
    }
}
