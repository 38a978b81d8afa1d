#if canImport(Glibc)
import Glibc
#endif
import CSupervisorShims
import Foundation
import Logging
import PluginWire
import Synchronization

/// A decoded control request, or why its frame did not decode.
typealias ControlMessage = Result<ControlRequest, ControlFailure>

/// The credentials of a peer on the control socket (`SO_PEERCRED`).
public struct PeerCredentials: Sendable, Equatable {
    /// The peer's process id.
    public var pid: Int32
    /// The peer's user id.
    public var uid: UInt32
    /// The peer's group id.
    public var gid: UInt32
}

/// The supervisor's control socket: a Unix stream socket created `0600`, accepting only peers
/// that run as the supervisor's own user or as root, speaking ``ControlRequest`` /
/// ``ControlReply`` in PluginWire framing.
///
/// A malformed frame or request gets an error reply naming the problem and the connection is
/// closed; the supervisor is never affected.
public final class ControlServer: Sendable {
    /// Handles one request; `reply` may be called several times for streaming commands and must
    /// be called with a `done` reply last.
    public typealias Handler = @Sendable (ControlRequest, PeerCredentials, _ reply: @escaping @Sendable (ControlReply) -> Bool) async -> Void

    /// The socket's path.
    public let path: String
    private let listener: Int32
    private let reactor: Reactor
    private let handler: Handler
    private let logger: Logger
    private let connections = Mutex<[Int32: FrameConnection<ControlMessage>]>([:])

    /// Binds `path` (replacing a stale socket file), restricts it to `0600` and starts accepting.
    init(path: String, reactor: Reactor, logger: Logger, handler: @escaping Handler) throws(SystemCallError) {
        self.path = path
        self.reactor = reactor
        self.handler = handler
        self.logger = logger
        let descriptor = try systemCall("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            Glibc.close(descriptor)
            throw SystemCallError(function: "bind (path longer than \(capacity - 1) bytes)", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        unlink(path)
        let oldMask = umask(0o177)
        defer { umask(oldMask) }
        do {
            _ = try systemCall("bind") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                }
            }
            _ = try systemCall("chmod") { chmod(path, 0o600) }
            _ = try systemCall("listen") { listen(descriptor, 64) }
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        listener = descriptor
        try reactor.register(descriptor, interest: [.readable]) { [weak self] _ in self?.acceptAll() }
    }

    /// Stops accepting, closes every connection and removes the socket file.
    public func close() {
        reactor.deregister(listener)
        Glibc.close(listener)
        unlink(path)
        let open = connections.withLock { connections -> [FrameConnection<ControlMessage>] in
            defer { connections.removeAll() }
            return Array(connections.values)
        }
        for connection in open { connection.close() }
    }

    private func acceptAll() {
        while true {
            let client = ps_accept(listener)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            admit(client)
        }
    }

    private func admit(_ client: Int32) {
        var peer = PeerCredentials(pid: 0, uid: 0, gid: 0)
        guard ps_peer_credentials(client, &peer.pid, &peer.uid, &peer.gid) == 0 else {
            Glibc.close(client)
            return
        }
        let credentials = peer
        let ownUID = geteuid()
        guard peer.uid == ownUID || peer.uid == 0 else {
            logger.warning("refused control connection", metadata: ["peerUID": "\(peer.uid)", "peerPID": "\(peer.pid)"])
            let reply = ControlReply.failure(0, ControlFailure(
                code: "permissionDenied",
                message: "permission denied: the supervisor runs as uid \(ownUID); uid \(peer.uid) may not control it"))
            if let frame = try? ControlCodec.encodeFrame(reply) {
                _ = frame.withUnsafeBytes { ps_send(client, $0.baseAddress, $0.count) }
            }
            Glibc.close(client)
            return
        }
        let handler = self.handler
        let box = Mutex<FrameConnection<ControlMessage>?>(nil)
        do {
            let connection = try FrameConnection<ControlMessage>(
                descriptor: client,
                reactor: reactor,
                maximumFrameLength: WireLimits.defaultMaximumFrameLength,
                maximumQueuedBytes: 16 << 20,
                decode: { body in
                    do {
                        return .success(try ControlCodec.decode(ControlRequest.self, from: body))
                    } catch {
                        return .failure(ControlFailure(code: "malformedRequest", message: "malformed control request: \(error)"))
                    }
                },
                onMessage: { message in
                    guard let connection = box.withLock({ $0 }) else { return }
                    let request: ControlRequest
                    switch message {
                    case .success(let decoded):
                        request = decoded
                    case .failure(let failure):
                        if let frame = try? ControlCodec.encodeFrame(ControlReply.failure(0, failure)) {
                            connection.send(frame: frame)
                        }
                        return
                    }
                    Task {
                        await handler(request, credentials) { reply in
                            guard let frame = try? ControlCodec.encodeFrame(reply) else { return false }
                            return connection.send(frame: frame)
                        }
                    }
                },
                onEnd: { [weak self] end in
                    if case .breach(let detail) = end {
                        self?.logger.notice("control connection sent an invalid frame", metadata: ["detail": "\(detail)"])
                    }
                    _ = self?.connections.withLock { $0.removeValue(forKey: client) }
                }
            )
            box.withLock { $0 = connection }
            connections.withLock { $0[client] = connection }
            try connection.start()
        } catch {
            Glibc.close(client)
        }
    }
}
