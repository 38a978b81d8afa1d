import SystemPackage

/// A failed system call: the call's name and the `errno` it left.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call that failed, e.g. `epoll_ctl(ADD)`.
    public let function: String
    /// The error number.
    public let errno: Errno

    /// Creates an error for `function` with `errno`.
    public init(function: String, errno: Errno) {
        self.function = function
        self.errno = errno
    }

    public var description: String {
        "\(function) failed: \(errno) (errno \(errno.rawValue))"
    }
}

/// Runs `body`, a call that returns its result or `-errno`, until it is not interrupted;
/// a negative result becomes a ``SystemCallError`` naming `function`.
///
/// This is the one system-call wrapper of the package: every shim in `CDescriptorCalls`,
/// `CProcessCalls` and `CConfinementCalls` follows the `-errno` convention, so every call goes
/// through here (or through swift-system's own `FileDescriptor` methods, which retry the same way).
package func systemCall<Result: SignedInteger>(
    _ function: @autoclosure () -> String,
    _ body: () -> Result
) throws(SystemCallError) -> Result {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = Errno(rawValue: Int32(truncatingIfNeeded: -result))
        if code == .interrupted { continue }
        throw SystemCallError(function: function(), errno: code)
    }
}

/// The outcome of a non-blocking read or write, for hot paths that must not throw.
package enum TransferResult: Equatable, Sendable {
    /// This many bytes moved (never zero for a read: that is ``endOfStream``).
    case transferred(Int)
    /// The descriptor is not ready; wait for readiness.
    case wouldBlock
    /// The peer closed its end (a read of 0 bytes, `EPIPE` or `ECONNRESET`).
    case endOfStream
    /// Any other failure.
    case failed(Errno)

    /// Classifies a shim result (`count` or `-errno`) of a call that is never retried blindly.
    package init(read result: Int) {
        if result > 0 {
            self = .transferred(result)
        } else if result == 0 {
            self = .endOfStream
        } else {
            self = TransferResult(errno: Errno(rawValue: Int32(truncatingIfNeeded: -result)))
        }
    }

    /// Classifies a write's result; a zero-byte write of a non-empty buffer cannot happen on a socket.
    package init(write result: Int) {
        self = result >= 0 ? .transferred(result) : TransferResult(errno: Errno(rawValue: Int32(truncatingIfNeeded: -result)))
    }

    init(errno: Errno) {
        switch errno {
        case .wouldBlock, .resourceTemporarilyUnavailable: self = .wouldBlock
        case .brokenPipe, .connectionReset: self = .endOfStream
        default: self = .failed(errno)
        }
    }
}
