import PluginSystem
import Synchronization
import SystemPackage

/// Blocking byte I/O on a descriptor a worker inherited (its session socket), for code inside the
/// sandbox.
///
/// Reads come from one reader thread; writes may come from any thread and are serialised, so
/// that each `write(all:)` lands on the socket whole and never interleaved with another.
public final class InheritedSocket: Sendable {
    /// The descriptor.
    public let descriptor: FileDescriptor
    private let writeLock = Mutex(())

    /// Wraps `descriptor` (not duplicated; closed by ``close()``).
    public init(descriptor: FileDescriptor) {
        self.descriptor = descriptor
    }

    /// Reads what is available, blocking until at least one byte arrives.
    /// Returns 0 at end of stream.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int {
        do {
            return try descriptor.read(into: buffer, retryOnInterrupt: true)
        } catch {
            throw SystemCallError(function: "read", errno: error as? Errno ?? .ioError)
        }
    }

    /// Writes every byte of `bytes` (`send` with `MSG_NOSIGNAL`), retrying short writes;
    /// concurrent callers are serialised.
    public func write(all bytes: [UInt8]) throws(SystemCallError) {
        let failure: SystemCallError? = writeLock.withLock { _ in
            bytes.withUnsafeBytes { raw -> SystemCallError? in
                var offset = 0
                while offset < raw.count {
                    switch descriptor.sendNow(UnsafeRawBufferPointer(rebasing: raw[offset...])) {
                    case .transferred(let count): offset += count
                    case .wouldBlock: return SystemCallError(function: "send", errno: .wouldBlock)
                    case .endOfStream: return SystemCallError(function: "send", errno: .brokenPipe)
                    case .failed(let errno): return SystemCallError(function: "send", errno: errno)
                    }
                }
                return nil
            }
        }
        if let failure { throw failure }
    }

    /// Closes the descriptor.
    public func close() {
        descriptor.closeAfterUse()
    }
}
