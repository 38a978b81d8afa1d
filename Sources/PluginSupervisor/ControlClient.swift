#if canImport(Glibc)
import Glibc
#endif
import CSupervisorShims
import PluginWire

/// Why a control client could not talk to the supervisor.
public struct ControlClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed.
    public struct Reason: Sendable, Hashable {
        private enum Value { case notRunning, permissionDenied, connectionLost, malformedReply, failed }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// No supervisor listens at the socket path.
        public static let notRunning = Reason(.notRunning)
        /// The socket exists but this user may not use it.
        public static let permissionDenied = Reason(.permissionDenied)
        /// The supervisor closed the connection before the last reply.
        public static let connectionLost = Reason(.connectionLost)
        /// The supervisor sent a frame that is not a reply.
        public static let malformedReply = Reason(.malformedReply)
        /// Any other system call failure.
        public static let failed = Reason(.failed)
    }

    /// What failed.
    public let reason: Reason
    /// A sentence a person can act on.
    public let message: String

    public var description: String { message }
}

/// A blocking client for the supervisor's control socket, one request at a time.
public final class ControlClient {
    private let descriptor: Int32
    private var decoder = FrameDecoder(maximumFrameLength: 16 << 20)
    private var nextID: UInt64 = 1

    /// Connects to the supervisor listening at `path`.
    public init(path: String) throws(ControlClientError) {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw ControlClientError(reason: .failed, message: "cannot create a socket: \(String(cString: strerror(errno)))")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw ControlClientError(reason: .failed, message: "socket path is too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result != 0 {
            let code = errno
            close(descriptor)
            switch code {
            case ENOENT, ECONNREFUSED:
                throw ControlClientError(reason: .notRunning, message: """
                    no supervisor is running at \(path); start one with `sandboxctl serve` \
                    (or pass --socket to name another)
                    """)
            case EACCES, EPERM:
                throw ControlClientError(reason: .permissionDenied, message: "permission denied opening \(path): the supervisor's socket is private to its user")
            default:
                throw ControlClientError(reason: .failed, message: "cannot connect to \(path): \(String(cString: strerror(code)))")
            }
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Sends `command` and returns its final reply, passing streamed chunks to `onChunk`.
    public func send(
        _ command: String,
        arguments: JSONValue = .object([:]),
        onChunk: (String) -> Void = { _ in }
    ) throws(ControlClientError) -> ControlReply {
        let id = nextID
        nextID += 1
        let frame: [UInt8]
        do {
            frame = try ControlCodec.encodeFrame(ControlRequest(id: id, command: command, arguments: arguments))
        } catch {
            throw ControlClientError(reason: .failed, message: "cannot encode the request: \(error)")
        }
        do {
            try write(frame)
        } catch {
            // A supervisor that refuses a peer answers first and closes: read why before giving up.
            if let refusal = try? readReply(), refusal.done { return refusal }
            throw error
        }
        while true {
            let reply = try readReply()
            if reply.id != id && reply.id != 0 { continue }
            if let chunk = reply.chunk { onChunk(chunk) }
            if reply.done { return reply }
        }
    }

    /// Sends raw bytes (tests use this to send malformed frames) and returns the next reply.
    public func sendRaw(_ bytes: [UInt8]) throws(ControlClientError) -> ControlReply {
        try write(bytes)
        return try readReply()
    }

    private func write(_ bytes: [UInt8]) throws(ControlClientError) {
        var offset = 0
        while offset < bytes.count {
            let written: Int = bytes.withUnsafeBytes { ps_send(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ControlClientError(reason: .connectionLost, message: "the supervisor closed the connection: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    private func readReply() throws(ControlClientError) -> ControlReply {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            do {
                if let body = try decoder.nextFrame() {
                    do {
                        return try ControlCodec.decode(ControlReply.self, from: body)
                    } catch {
                        throw ControlClientError(reason: .malformedReply, message: "the supervisor sent a malformed reply: \(error)")
                    }
                }
            } catch let error as ControlClientError {
                throw error
            } catch {
                throw ControlClientError(reason: .malformedReply, message: "the supervisor sent a malformed frame: \(error)")
            }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                throw ControlClientError(reason: .connectionLost, message: "the supervisor closed the connection before replying")
            }
            buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }
}
