import CSeccomp
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How a process ended.
public enum TerminationStatus: Sendable, Equatable {
    /// The process called exit with this code.
    case exited(Int32)
    /// The process was killed by this signal.
    case signaled(Int32, coreDumped: Bool)
}

/// A child process owned through its pidfd: signal it and reap it without pid-reuse races.
public final class ProcessHandle: Sendable {
    private enum State {
        case running
        case reaped(TerminationStatus)
        case closed
    }

    /// The process id.
    public let pid: Int32
    /// The pidfd (close-on-exec) this handle owns until `close()`.
    public let pidfd: Int32
    private let state = Mutex<State>(.running)

    /// Takes ownership of `pidfd`, which refers to the child `pid`.
    public init(pid: Int32, pidfd: Int32) {
        self.pid = pid
        self.pidfd = pidfd
    }

    deinit {
        state.withLock { state in
            if case .closed = state { return }
            Glibc.close(pidfd)
        }
    }

    /// Sends `signal` to the process (pidfd_send_signal).
    public func signal(_ signal: Int32) throws(SpawnError) {
        try state.withLock { (state) throws(SpawnError) in
            switch state {
            case .closed:
                throw SpawnError(step: .closed, errno: EBADF)
            case .reaped:
                throw SpawnError(step: .signal, errno: ESRCH)
            case .running:
                let rc = ps_spawn_pidfd_send_signal(pidfd, signal)
                if rc < 0 { throw SpawnError(step: .signal, errno: -rc) }
            }
        }
    }

    /// Reaps the process if it has ended (waitid P_PIDFD, WEXITED | WNOHANG); nil while it is alive.
    /// Once reaped, every later call returns the same status.
    public func reap() throws(SpawnError) -> TerminationStatus? {
        try collect(options: WEXITED | WNOHANG)
    }

    /// Blocks until the process ends, then reaps it and returns how it ended.
    /// Waits on the pidfd without holding the handle's lock, so `signal` stays usable meanwhile.
    public func waitForTermination() throws(SpawnError) -> TerminationStatus {
        while true {
            if let status = try reap() { return status }
            var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, -1) < 0 && errno != EINTR {
                throw SpawnError(step: .wait, errno: errno)
            }
        }
    }

    /// Closes the pidfd. A process not yet reaped stays a zombie until the supervisor exits.
    public func close() {
        state.withLock { state in
            if case .closed = state { return }
            Glibc.close(pidfd)
            state = .closed
        }
    }

    private func collect(options: Int32) throws(SpawnError) -> TerminationStatus? {
        try state.withLock { (state) throws(SpawnError) -> TerminationStatus? in
            switch state {
            case .closed:
                throw SpawnError(step: .closed, errno: EBADF)
            case .reaped(let status):
                return status
            case .running:
                var pid: Int32 = 0
                var code: Int32 = 0
                var value: Int32 = 0
                let rc = ps_spawn_waitid_pidfd(pidfd, options, &pid, &code, &value)
                if rc < 0 { throw SpawnError(step: .wait, errno: -rc) }
                if pid == 0 { return nil }
                let status: TerminationStatus
                switch code {
                case Int32(CLD_EXITED): status = .exited(value)
                case Int32(CLD_DUMPED): status = .signaled(value, coreDumped: true)
                default: status = .signaled(value, coreDumped: false)
                }
                state = .reaped(status)
                return status
            }
        }
    }
}
