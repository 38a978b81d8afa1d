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

    /// Why a worker that stopped answering is ended. One stalled at its memory cgroup's limit (its
    /// peak reached the limit and it is still within 5% of it) is ended for memory: at the limit
    /// the kernel reclaims for it before its OOM killer acts, and on a busy machine that can take
    /// longer than the heartbeat allows. Any other hang is a heartbeat timeout, with the memory
    /// in use when there is a limit.
    static func hangCause(_ hang: String, memoryCurrent: UInt64?, memoryPeak: UInt64?, memoryLimit: UInt64?) -> ExitCause {
        guard let current = memoryCurrent, let peak = memoryPeak, let limit = memoryLimit, limit > 0,
              peak >= limit - limit / 100, current >= limit - limit / 20 else {
            // The memory in use goes with the report: a hang while memory grows reads differently.
            guard let current = memoryCurrent, let limit = memoryLimit, limit > 0 else { return .heartbeatTimeout(hang) }
            return .heartbeatTimeout("\(hang) (memory in use: \(current >> 20) of \(mib(limit)))")
        }
        return .memoryLimit("\(peakAgainst(peak, limit)); still at the limit (\(mib(current))) and not answering (\(hang)), so the supervisor ended it")
    }

    private static func memoryDetail(_ observation: ExitObservation) -> String {
        switch (observation.memoryPeakBytes, observation.memoryLimitBytes) {
        case let (peak?, limit?): return "\(peakAgainst(peak, limit)); the kernel's OOM killer ended it"
        case let (nil, limit?): return "over the memory cgroup's limit of \(mib(limit)); the kernel's OOM killer ended it"
        default: return "the memory cgroup's OOM killer ended it"
        }
    }

    /// `peak N MiB against the memory cgroup's limit of M MiB`: the peak comes first in every
    /// memory verdict.
    private static func peakAgainst(_ peak: UInt64, _ limit: UInt64) -> String {
        "peak \(mib(peak)) against the memory cgroup's limit of \(mib(limit))"
    }

    private static func mib(_ bytes: UInt64) -> String { "\(bytes >> 20) MiB" }
}
