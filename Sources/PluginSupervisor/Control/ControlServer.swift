import Foundation
import Logging
import PluginSystem
import PluginWire
import Synchronization
import SystemPackage

/// The credentials of a peer on the control socket (`SO_PEERCRED`).
public struct PeerCredentials: Sendable, Equatable {
    /// The peer's process id.
    public var pid: Int32
    /// The peer's user id.
    public var uid: UInt32
    /// The peer's group id.
    public var gid: UInt32
}

/// Why the control socket could not be opened.
public struct ControlServerError: Error, Sendable, CustomStringConvertible {
    /// A sentence a person can act on.
    public let message: String
    public var description: String { message }
}

/// The supervisor's control socket: a Unix stream socket created `0600`, accepting only peers
/// that run as the supervisor's own user or as root, speaking ``ControlRequest`` /
/// ``ControlReply`` in PluginWire framing.
///
/// One supervisor per socket: opening a path where a live supervisor answers is refused, naming
/// its pid; a stale socket file (nobody answers) is replaced. On close the server removes the
/// socket file only if it is still the one it created. A malformed frame or request gets an error
/// reply naming the problem; the supervisor is never affected.
public final class ControlServer: Sendable {
    /// Handles one request; `reply` may be called several times for streaming commands and must be
    /// called with a `done` reply last. It returns false once the client is gone.
    public typealias Handler = @Sendable (ControlRequest, PeerCredentials, _ reply: @escaping @Sendable (ControlReply) -> Bool) async -> Void

    fileprivate struct Incoming: Sendable {
        let request: ControlRequest
        let peer: PeerCredentials
        let connection: LoopBound<ControlConnection>
        let alive: ControlConnection.Liveness
    }

    /// The socket's path.
    public let path: String
    private let loop: EventLoop
    private let listener: LoopBound<ControlListener>
    private let inode: UInt64?
    private let requests: AsyncStream<Incoming>
    private let input: AsyncStream<Incoming>.Continuation

    /// Opens `path` on `loop`.
    init(path: String, loop: EventLoop, logger: Logger) async throws(ControlServerError) {
        if let pid = Self.liveSupervisor(at: path) {
            throw ControlServerError(message: "a supervisor (pid \(pid)) is already serving on \(path); stop it, or give this one another --socket")
        }
        if FileDescriptor.inode(at: path) != nil { unlink(path) }  // stale: nobody answers there
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.listeningUnixSocket(at: path, mode: 0o600)
        } catch {
            throw ControlServerError(message: "cannot open the control socket \(path): \(error)")
        }
        self.path = path
        self.loop = loop
        self.inode = FileDescriptor.inode(at: path)
        (requests, input) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        let input = self.input
        let result: Result<LoopBound<ControlListener>, SystemCallError> = await loop.submit {
            let listener = ControlListener(descriptor: descriptor, loop: loop, logger: logger, input: input)
            do throws(SystemCallError) {
                try loop.register(descriptor, interest: .readable, handler: listener)
                return .success(LoopBound(listener, loop: loop))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let listener): self.listener = listener
        case .failure(let error):
            descriptor.closeAfterUse()
            unlink(path)
            throw ControlServerError(message: "cannot watch the control socket \(path): \(error)")
        }
    }

    /// Serves requests with `handler` until ``close()``; each request runs as a child task.
    public func run(_ handler: @escaping Handler) async {
        await withDiscardingTaskGroup { group in
            for await incoming in requests {
                group.addTask {
                    let connection = incoming.connection
                    await handler(incoming.request, incoming.peer) { reply in
                        guard incoming.alive.isAlive, let frame = try? ControlCodec.encodeFrame(reply) else { return false }
                        connection.loop.execute { connection.value.send(frame) }
                        return true
                    }
                }
            }
        }
    }

    /// Stops accepting, closes every connection and removes the socket file if it is still ours.
    public func close() async {
        input.finish()
        let listener = self.listener
        await loop.submit { listener.value.close() }
        if let inode, FileDescriptor.inode(at: path) == inode { unlink(path) }
    }

    /// The pid of a supervisor answering at `path`, if one does: a host checks before it builds
    /// a runtime it could not serve (opening the socket checks again).
    public static func liveSupervisor(at path: String) -> Int32? {
        guard let socket = try? FileDescriptor.connectedUnixSocket(to: path) else { return nil }
        defer { socket.closeAfterUse() }
        return (try? socket.peerCredentials())?.pid
    }
}

/// The listening socket on its loop: accepts, checks each peer, and hands its requests on.
final class ControlListener: ReadinessHandler {
    private let descriptor: FileDescriptor
    private let loop: EventLoop
    private let logger: Logger
    private let input: AsyncStream<ControlServer.Incoming>.Continuation
    private var connections: [ObjectIdentifier: ControlConnection] = [:]
    private var closed = false

    fileprivate init(descriptor: FileDescriptor, loop: EventLoop, logger: Logger, input: AsyncStream<ControlServer.Incoming>.Continuation) {
        self.descriptor = descriptor
        self.loop = loop
        self.logger = logger
        self.input = input
    }

    func ready(_ events: Readiness) {
        // A bounded number per turn, like every other descriptor of the loop.
        for _ in 0..<16 {
            guard !closed, let client = try? descriptor.acceptConnection() else { return }
            admit(client)
        }
    }

    private func admit(_ client: FileDescriptor) {
        guard let credentials = try? client.peerCredentials() else { return client.closeAfterUse() }
        let peer = PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
        let ownUID = geteuid()
        guard peer.uid == ownUID || peer.uid == 0 else {
            logger.warning("refused control connection", metadata: ["peer.uid": "\(peer.uid)", "peer.pid": "\(peer.pid)"])
            let reply = ControlReply.failure(0, ControlFailure(
                code: "permissionDenied",
                message: "permission denied: the supervisor runs as uid \(ownUID); uid \(peer.uid) may not control it"))
            if let frame = try? ControlCodec.encodeFrame(reply) { _ = frame.withUnsafeBytes { client.sendNow($0) } }
            return client.closeAfterUse()
        }
        do {
            let channel = try FrameChannel(descriptor: client, loop: loop, maximumFrameLength: WireLimits.defaultMaximumFrameLength,
                                           maximumQueuedBytes: 16 << 20)
            let connection = ControlConnection(channel: channel, peer: peer, loop: loop, input: input, owner: self)
            connections[ObjectIdentifier(connection)] = connection
            try channel.start(delegate: connection)
        } catch {
            logger.notice("could not serve a control connection", metadata: ["error": "\(error)"])
        }
    }

    fileprivate func ended(_ connection: ControlConnection) {
        connections[ObjectIdentifier(connection)] = nil
    }

    func close() {
        guard !closed else { return }
        closed = true
        loop.deregister(descriptor)
        descriptor.closeAfterUse()
        for connection in connections.values { connection.close() }
        connections.removeAll()
    }
}

/// One client of the control socket.
final class ControlConnection: FrameChannelDelegate {
    /// Whether the client is still there, readable from any thread.
    final class Liveness: Sendable {
        private let flag = Atomic(true)
        var isAlive: Bool { flag.load(ordering: .relaxed) }
        func end() { flag.store(false, ordering: .relaxed) }
    }

    private let channel: FrameChannel
    private let peer: PeerCredentials
    private let loop: EventLoop
    private let input: AsyncStream<ControlServer.Incoming>.Continuation
    private weak var owner: ControlListener?
    let liveness = Liveness()

    fileprivate init(channel: FrameChannel, peer: PeerCredentials, loop: EventLoop,
                     input: AsyncStream<ControlServer.Incoming>.Continuation, owner: ControlListener) {
        self.channel = channel
        self.peer = peer
        self.loop = loop
        self.input = input
        self.owner = owner
    }

    func send(_ frame: [UInt8]) {
        channel.send(frame)
    }

    func close() {
        liveness.end()
        channel.close()
    }

    func channel(_ channel: FrameChannel, received body: ArraySlice<UInt8>) -> Bool {
        do {
            let request = try ControlCodec.decode(ControlRequest.self, from: body)
            input.yield(ControlServer.Incoming(request: request, peer: peer, connection: LoopBound(self, loop: loop), alive: liveness))
        } catch {
            let failure = ControlFailure(code: "malformedRequest", message: "malformed control request: \(error)")
            if let frame = try? ControlCodec.encodeFrame(ControlReply.failure(0, failure)) { channel.send(frame) }
        }
        return true
    }

    func channel(_ channel: FrameChannel, ended: ChannelEnd) {
        liveness.end()
        owner?.ended(self)
    }
}
