#if canImport(Glibc)
import Glibc
#endif

/// Newline-terminated text over a descriptor, with a timeout on reads so a broken worker fails a probe
/// instead of hanging it.
struct LineChannel {
    let fd: Int32

    enum Failure: Error, CustomStringConvertible {
        case timedOut(fd: Int32)
        case closed(fd: Int32)
        case system(call: String, errno: Int32)

        var description: String {
            switch self {
            case .timedOut(let fd): "timed out reading fd \(fd)"
            case .closed(let fd): "end of stream on fd \(fd)"
            case .system(let call, let code): "\(call) failed: errno \(code)"
            }
        }
    }

    /// Writes `line` plus a newline.
    func send(_ line: String) throws(Failure) {
        var bytes = Array(line.utf8) + [UInt8(ascii: "\n")]
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeMutableBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == ENOTSOCK {
                    let plain = bytes[offset...].withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
                    if plain < 0 { throw .system(call: "write", errno: errno) }
                    offset += plain
                    continue
                }
                throw .system(call: "send", errno: errno)
            }
            offset += written
        }
        bytes.removeAll()
    }

    /// Reads one line (without the newline), waiting at most `timeout` milliseconds per byte.
    func receive(timeout: Int32 = 5_000) throws(Failure) -> String {
        var line: [UInt8] = []
        while true {
            try wait(timeout: timeout)
            var byte: UInt8 = 0
            let count = read(fd, &byte, 1)
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(call: "read", errno: errno)
            }
            if count == 0 { throw .closed(fd: fd) }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    /// Whether any bytes are waiting to be read right now.
    func hasPendingBytes() -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0 && entry.revents & Int16(POLLIN) != 0
    }

    private func wait(timeout: Int32) throws(Failure) {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&entry, 1, timeout)
            if ready > 0 { return }
            if ready == 0 { throw .timedOut(fd: fd) }
            if errno != EINTR { throw .system(call: "poll", errno: errno) }
        }
    }
}
