#if canImport(Glibc)
import Glibc
#endif

/// A failed system call made by the supervisor, with the call's name and `errno`.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The C function that failed, e.g. `epoll_ctl`.
    public let function: String
    /// The `errno` it left.
    public let errno: Int32

    /// Creates an error for `function` with `errno`.
    public init(function: String, errno: Int32) {
        self.function = function
        self.errno = errno
    }

    public var description: String {
        "\(function) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The supervisor's one syscall wrapper: runs `body` until it stops failing with `EINTR`,
/// and turns a `-1` result into a ``SystemCallError`` naming `function`.
@inline(__always)
func systemCall<Result: BinaryInteger>(
    _ function: String,
    _ body: () -> Result
) throws(SystemCallError) -> Result {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemCallError(function: function, errno: code)
    }
}
