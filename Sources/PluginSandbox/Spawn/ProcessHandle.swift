import PluginSystem
import Synchronization
import SystemPackage
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
///
/// The handle owns the pidfd and, for a worker the spawner gave a pooled identity, that identity's
/// lease: the uid returns to its pool when the process has been reaped (never while it may live).
public final class ProcessHandle: Sendable {
    private enum State {
        case running
        case reaped(TerminationStatus)
        case closed
    }

    /// The process id.
    public let pid: Int32
    /// The pidfd (close-on-exec) this handle owns until `close()`.
    public let pidfd: FileDescriptor
    private let lease: WorkerIdentityLease?
    private let state = Mutex<State>(.running)

    /// Takes ownership of `pidfd`, which refers to the child `pid`.
    public convenience init(pid: Int32, pidfd: FileDescriptor) {
        self.init(pid: pid, pidfd: pidfd, lease: nil)
    }

    init(pid: Int32, pidfd: FileDescriptor, lease: WorkerIdentityLease?) {
        self.pid = pid
        self.pidfd = pidfd
        self.lease = lease
    }

    deinit {
        state.withLock { state in
            if case .closed = state { return }
            pidfd.closeAfterUse()
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
                do throws(SystemCallError) {
                    try ProcessCalls.sendSignal(signal, through: pidfd)
                } catch {
                    throw SpawnError(step: .signal, error)
                }
            }
        }
    }

    /// Reaps the process if it has ended (waitid P_PIDFD, WEXITED | WNOHANG); nil while it is alive.
    /// Once reaped, every later call returns the same status, and the identity lease is released.
    public func reap() throws(SpawnError) -> TerminationStatus? {
        let status = try state.withLock { (state) throws(SpawnError) -> TerminationStatus? in
            switch state {
            case .closed:
                throw SpawnError(step: .closed, errno: EBADF)
            case .reaped(let status):
                return status
            case .running:
                let status: TerminationStatus?
                do throws(SystemCallError) {
                    status = try ProcessCalls.reap(pidfd, wait: false)
                } catch {
                    throw SpawnError(step: .wait, error)
                }
                if let status { state = .reaped(status) }
                return status
            }
        }
        if status != nil { lease?.release() }
        return status
    }

    /// Blocks until the process ends, then reaps it and returns how it ended.
    /// Waits on the pidfd without holding the handle's lock, so `signal` stays usable meanwhile.
    public func waitForTermination() throws(SpawnError) -> TerminationStatus {
        while true {
            if let status = try reap() { return status }
            do throws(SystemCallError) {
                _ = try ProcessCalls.waitReadable(pidfd, milliseconds: -1)
            } catch {
                throw SpawnError(step: .wait, error)
            }
        }
    }

    /// Closes the pidfd. A process not yet reaped stays a zombie until the supervisor exits, and
    /// keeps its identity leased.
    public func close() {
        state.withLock { state in
            if case .closed = state { return }
            pidfd.closeAfterUse()
            state = .closed
        }
    }
}
