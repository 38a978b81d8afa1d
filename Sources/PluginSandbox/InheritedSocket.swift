#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Blocking byte I/O on a descriptor a worker inherited (its session socket), for code inside the
/// sandbox that must not make system calls of its own.
///
/// Reads come from one reader thread; writes may come from any thread and are serialised, so
/// that each `write(all:)` lands on the socket whole and never interleaved with another.
public final class InheritedSocket: Sendable {
    /// The descriptor.
    public let descriptor: Int32
    private let writeLock = Mutex(())

    /// Wraps `descriptor` (not duplicated; closed by ``close()``).
    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Reads what is available, blocking until at least one byte arrives.
    /// Returns 0 at end of stream.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketIOError) -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            let code = errno
            if code == EINTR { continue }
            throw SocketIOError(function: "read", errno: code)
        }
    }

    /// Writes every byte of `bytes`, retrying short writes; concurrent callers are serialised.
    public func write(all bytes: [UInt8]) throws(SocketIOError) {
        let failure: SocketIOError? = writeLock.withLock { _ in
            bytes.withUnsafeBytes { raw -> SocketIOError? in
                var offset = 0
                while offset < raw.count {
                    let written = send(descriptor, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                    if written >= 0 {
                        offset += written
                        continue
                    }
                    let code = errno
                    if code == EINTR { continue }
                    return SocketIOError(function: "send", errno: code)
                }
                return nil
            }
        }
        if let failure { throw failure }
    }

    /// Closes the descriptor.
    public func close() {
        _ = Glibc.close(descriptor)
    }
}

/// A failed read or write on an ``InheritedSocket``.
public struct SocketIOError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The failing call.
    public let function: String
    /// Its errno.
    public let errno: Int32

    public var description: String {
        "\(function) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
