extension FaultKind {
    /// What the fault does, and what the sandbox answers, for `sandboxctl faults`.
    var summary: String {
        switch self {
        case .segfault: return "raises SIGSEGV: the session ends as signaled (SIGSEGV)"
        case .fatalError: return "calls fatalError: the session ends as signaled (SIGILL), with the message"
        case .precondition: return "fails a precondition: the session ends as signaled (SIGILL)"
        case .abort: return "calls abort: the session ends as signaled (SIGABRT)"
        case .exit: return "exits with the argument (default 3): the session ends as exited (code N)"
        case .stackOverflow: return "recurses without end: the session ends as signaled (SIGSEGV)"
        case .endlessLoop: return "spins inside a handler: the heartbeat names the handler and ends the session"
        case .memoryLeak: return "allocates without end: the memory cgroup ends the session as memoryLimit"
        case .fdLeak: return "opens descriptors without end: refused at RLIMIT_NOFILE; the session lives"
        case .threadBomb: return "starts threads without end: refused at the pids/RLIMIT_NPROC limit; the session lives"
        case .fork: return "forks: a seccomp violation (clone) ends the session"
        case .network: return "opens a TCP socket: refused (EACCES); the session lives"
        case .exec: return "execs /bin/sh: a seccomp violation (execve) ends the session"
        case .readOutside: return "reads /etc/passwd: invisible in the worker's root (ENOENT); the session lives"
        case .writeOutside: return "writes under /tmp: refused; the session lives"
        case .ptraceSupervisor: return "ptraces the supervisor: a seccomp violation (ptrace) ends the session"
        case .signalSupervisor: return "kills the supervisor: a seccomp violation (kill) or EPERM; the supervisor lives"
        case .garbageBytes: return "writes a frame that is not JSON: a protocol breach ends the session"
        case .oversizedFrame: return "announces a 1 GiB frame: a protocol breach ends the session"
        case .frameFlood: return "floods log frames: a protocol breach (log rate) ends the session"
        case .partialFrame: return "sends half a frame and stops: the session is ended by its heartbeat"
        case .lieAboutSession: return "sends a second hello: a protocol breach ends the session"
        case .closeSocket: return "closes its session socket: the session ends (exited, code 70)"
        case .neverRead: return "blocks its handler forever: the heartbeat names the handler and ends the session"
        case .throwError: return "throws from the handler: the emitter gets the error; the session lives"
        case .hugeAllocation: return "maps 8 GiB at once: refused at RLIMIT_AS (ENOMEM); the session lives"
        case .pongFlood: return "floods pongs that answer no ping: a protocol breach ends the session; the others keep their heartbeats"
        case .errorFlood: return "floods error frames: a protocol breach (error rate) ends the session"
        case .cancelFlood: return "floods cancels of calls that do not exist: a protocol breach ends the session"
        case .replyFlood: return "floods replies to calls nobody made: a protocol breach ends the session"
        case .byeTwice: return "says bye twice: a protocol breach ends the session"
        case .globalCallFlood: return "emits to the global bus without waiting: past the in-flight bound, a protocol breach"
        case .forgedLogLines: return "logs newlines and another session's metadata: escaped and namespaced; the session lives"
        case .logBytesFlood: return "logs 60 KB records without end: a protocol breach (log bytes) ends the session"
        case .outputFlood: return "prints as fast as it can: the pipe is bounded and read fairly; the others are not slowed"
        case .forgeLifecycleEvent: return "emits the supervisor's SessionCrashed: a protocol breach ends the session"
        case .spinThread: return "spins in a thread of its own: held to its CPU quota, then ended by its CPU budget"
        case .memoryBurst: return "touches memory fast past the limit: the memory cgroup ends it as memoryLimit with the figure"
        case .ownSigsysHandler: return "installs a SIGSYS handler, then calls ptrace: still a seccomp violation (ptrace)"
        case .foreignArchitecture: return "makes an i386 system call (argument 32: x32): the whole worker ends, a seccomp violation"
        case .listProcesses: return "lists /proc: sees only itself; the session lives"
        case .statOutside: return "stats /etc/passwd: not found in the worker's root; the session lives"
        case .outOfBandData: return "sends MSG_OOB on its socket: refused; the session lives"
        case .growPipe: return "grows its output pipe to 1 MiB: refused; the session lives"
        case .lockContention: return "two threads take one lock in turn, contending in the kernel: the session lives"
        }
    }
}

extension FaultCatalog {
    /// Every fault, with what it does and what the sandbox answers.
    public static var descriptions: [(name: String, summary: String)] {
        FaultKind.allCases.map { ($0.rawValue, $0.summary) }
    }
}
