import CDescriptorCalls
import SystemPackage

extension FileDescriptor {
    /// A connected pair of Unix sockets, both close-on-exec.
    package static func socketPair(datagram: Bool = false, sequenced: Bool = false) throws(SystemCallError) -> (FileDescriptor, FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        // SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_SEQPACKET 5.
        let type: Int32 = sequenced ? 5 : (datagram ? 2 : 1)
        _ = try systemCall("socketpair") { psd_socketpair(type, &fds) }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    /// A pipe, both ends close-on-exec: `(read, write)`.
    package static func closeOnExecPipe() throws(SystemCallError) -> (read: FileDescriptor, write: FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        _ = try systemCall("pipe2") { psd_pipe(&fds) }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    /// Sets the capacity of a pipe (`F_SETPIPE_SZ`); returns what the kernel granted.
    @discardableResult
    package func setPipeCapacity(_ bytes: Int) throws(SystemCallError) -> Int {
        Int(try systemCall("fcntl(F_SETPIPE_SZ)") { psd_set_pipe_size(rawValue, Int32(clamping: bytes)) })
    }

    /// Turns `O_NONBLOCK` on or off.
    package func setNonBlocking(_ on: Bool = true) throws(SystemCallError) {
        _ = try systemCall("fcntl(O_NONBLOCK)") { psd_set_nonblocking(rawValue, on ? 1 : 0) }
    }

    /// Closes, ignoring the result: for descriptors whose close cannot be acted on (Linux always
    /// releases the descriptor, even when `close` reports an error).
    package func closeAfterUse() {
        try? close()
    }

    /// `send` with `MSG_NOSIGNAL` on a non-blocking socket, without throwing.
    package func sendNow(_ bytes: UnsafeRawBufferPointer) -> TransferResult {
        while true {
            let result = psd_send(rawValue, bytes.baseAddress, bytes.count)
            if result == -Int(Errno.interrupted.rawValue) { continue }
            return TransferResult(write: result)
        }
    }

    /// `read` on a non-blocking descriptor, without throwing.
    package func readNow(into buffer: UnsafeMutableRawBufferPointer) -> TransferResult {
        while true {
            let result = psd_read(rawValue, buffer.baseAddress, buffer.count)
            if result == -Int(Errno.interrupted.rawValue) { continue }
            return TransferResult(read: result)
        }
    }

    /// How many bytes are waiting to be read (`FIONREAD`).
    package func readableByteCount() throws(SystemCallError) -> Int {
        Int(try systemCall("ioctl(FIONREAD)") { psd_readable_bytes(rawValue) })
    }

    /// Sends `bytes` with `descriptors` attached (`SCM_RIGHTS`, at most 8).
    @discardableResult
    package func send(_ bytes: UnsafeRawBufferPointer, passing descriptors: [FileDescriptor]) throws(SystemCallError) -> Int {
        let raw = descriptors.map(\.rawValue)
        return try systemCall("sendmsg(SCM_RIGHTS)") {
            raw.withUnsafeBufferPointer { fds in
                psd_send_with_descriptors(rawValue, bytes.baseAddress, bytes.count, fds.baseAddress, Int32(fds.count))
            }
        }
    }

    /// Receives one message and at most `capacity` passed descriptors (close-on-exec). A message
    /// that was cut short, or that carried more descriptors, throws `EMSGSIZE` with every received
    /// descriptor already closed; descriptors this process had no room for (its open-file limit)
    /// throw `EMFILE`. A count of 0 is the end of the stream.
    package func receive(
        into buffer: UnsafeMutableRawBufferPointer,
        descriptorCapacity capacity: Int
    ) throws(SystemCallError) -> (count: Int, descriptors: [FileDescriptor]) {
        var fds = [Int32](repeating: -1, count: Int(PS_MAX_PASSED_DESCRIPTORS))
        var received: Int32 = 0
        let limit = Int32(min(capacity, Int(PS_MAX_PASSED_DESCRIPTORS)))
        let count = try systemCall("recvmsg(SCM_RIGHTS)") {
            psd_receive_with_descriptors(rawValue, buffer.baseAddress, buffer.count, &fds, limit, &received)
        }
        return (count, fds.prefix(Int(received)).map { FileDescriptor(rawValue: $0) })
    }

    /// The pid, uid and gid of the process at the other end of a connected Unix socket.
    package func peerCredentials() throws(SystemCallError) -> (pid: Int32, uid: UInt32, gid: UInt32) {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        _ = try systemCall("getsockopt(SO_PEERCRED)") { psd_peer_credentials(rawValue, &pid, &uid, &gid) }
        return (pid, uid, gid)
    }

    /// Accepts one pending connection (non-blocking, close-on-exec); nil when none is pending.
    package func acceptConnection() throws(SystemCallError) -> FileDescriptor? {
        while true {
            let result = psd_accept(rawValue)
            if result >= 0 { return FileDescriptor(rawValue: result) }
            let code = Errno(rawValue: -result)
            switch code {
            case .interrupted, .connectionAbort: continue
            case .wouldBlock, .resourceTemporarilyUnavailable: return nil
            default: throw SystemCallError(function: "accept4", errno: code)
            }
        }
    }

    /// Closes every descriptor from `first` through `last` (`close_range`).
    package static func closeRange(from first: Int32, through last: Int32 = Int32.max) throws(SystemCallError) {
        _ = try systemCall("close_range") { psd_close_range(UInt32(first), UInt32(bitPattern: last)) }
    }
}

extension FileDescriptor {
    /// A Unix stream socket bound to `path` with file mode `mode`, listening (non-blocking,
    /// close-on-exec).
    package static func listeningUnixSocket(at path: String, mode: UInt32 = 0o600, backlog: Int32 = 128) throws(SystemCallError) -> FileDescriptor {
        FileDescriptor(rawValue: try systemCall("bind(\(path))") { psd_unix_listen(path, mode, backlog) })
    }

    /// A Unix stream socket connected to `path` (blocking, close-on-exec).
    package static func connectedUnixSocket(to path: String) throws(SystemCallError) -> FileDescriptor {
        FileDescriptor(rawValue: try systemCall("connect(\(path))") { psd_unix_connect(path) })
    }

    /// Sends `bytes` as one datagram to the Unix datagram socket at `path` (a leading `@` names an
    /// abstract socket), as `sd_notify` does with `$NOTIFY_SOCKET`.
    package static func sendUnixDatagram(_ bytes: [UInt8], to path: String) throws(SystemCallError) {
        _ = try systemCall("sendto(\(path))") { bytes.withUnsafeBytes { psd_unix_datagram_send(path, $0.baseAddress, $0.count) } }
    }

    /// The inode number of the file at `path`, or nil when there is none.
    package static func inode(at path: String) -> UInt64? {
        let result = psd_inode(path)
        return result < 0 ? nil : UInt64(result)
    }
}

/// Process-wide resource limits the supervisor needs.
package enum ProcessLimits {
    /// Raises the open-file limit (every session holds a few descriptors in the supervisor): the
    /// soft limit to the hard one, and both to `wanted` when the process may. Returns the limit in force.
    @discardableResult
    package static func raiseOpenFiles(to wanted: UInt64 = 1 << 20) throws(SystemCallError) -> UInt64 {
        UInt64(try systemCall("setrlimit(RLIMIT_NOFILE)") { psd_raise_open_file_limit(wanted) })
    }
}
