#if canImport(Glibc)
import Glibc
#endif
import PluginSystem
import PluginWire
import SystemPackage

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
    private let descriptor: FileDescriptor
    private var decoder = FrameDecoder(maximumFrameLength: 16 << 20)
    private var nextID: UInt64 = 1

    /// Connects to the supervisor listening at `path`.
    public init(path: String) throws(ControlClientError) {
        do {
            descriptor = try FileDescriptor.connectedUnixSocket(to: path)
        } catch {
            switch error.errno {
            case .noSuchFileOrDirectory, .connectionRefused:
                throw ControlClientError(reason: .notRunning, message: """
                    no supervisor is running at \(path); start one with `sandboxctl serve` \
                    (or pass --socket to name another)
                    """)
            case .permissionDenied, .notPermitted:
                throw ControlClientError(reason: .permissionDenied, message: "permission denied opening \(path): the supervisor's socket is private to its user")
            case .fileNameTooLong:
                throw ControlClientError(reason: .failed, message: "socket path is too long: \(path)")
            default:
                throw ControlClientError(reason: .failed, message: "cannot connect to \(path): \(error.errno)")
            }
        }
    }

    deinit {
        descriptor.closeAfterUse()
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
            switch bytes.withUnsafeBytes({ descriptor.sendNow(UnsafeRawBufferPointer(rebasing: $0[offset...])) }) {
            case .transferred(let count): offset += count
            case .wouldBlock: continue
            case .endOfStream:
                throw ControlClientError(reason: .connectionLost, message: "the supervisor closed the connection")
            case .failed(let errno):
                throw ControlClientError(reason: .connectionLost, message: "the supervisor closed the connection: \(errno)")
            }
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
            guard case .transferred(let count) = buffer.withUnsafeMutableBytes({ descriptor.readNow(into: $0) }) else {
                throw ControlClientError(reason: .connectionLost, message: "the supervisor closed the connection before replying")
            }
            buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }
}
