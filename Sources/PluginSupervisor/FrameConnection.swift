#if canImport(Glibc)
import Glibc
#endif
import CSupervisorShims
import PluginWire
import Synchronization

/// Why a ``FrameConnection`` stopped.
enum ConnectionEnd: Sendable, Equatable {
    /// The peer closed its end (EOF or hang-up).
    case closed
    /// The peer sent bytes that are not a valid frame or message.
    case breach(String)
    /// The peer stopped reading and the outbound queue passed its bound.
    case outboundOverflow(bytes: Int)
    /// A read or write failed.
    case failed(SystemCallError)
}

/// What one attempt to send a frame came to.
private enum SendOutcome {
    case sent, ended, overflow(Int), failed(SystemCallError)
}

/// A non-blocking, framed, message-level view of one connected Unix socket, driven by the
/// ``Reactor``.
///
/// Reads are buffered: one `read` may carry many frames. Every frame body is decoded with the
/// connection's `decode` function (``MessageCodec`` for workers, the control codec for the CLI);
/// the first bad byte ends the connection as a breach. Writes go out at once
/// when the socket has room, else queue up to `maximumQueuedBytes`; a peer that stops reading
/// past that ends the connection instead of growing the supervisor's memory.
final class FrameConnection<Message: Sendable>: Sendable {
    typealias Decode = @Sendable (ArraySlice<UInt8>) throws -> Message
    typealias MessageHandler = @Sendable (Message) -> Void
    typealias EndHandler = @Sendable (ConnectionEnd) -> Void

    private struct Outbound {
        var buffer: [UInt8] = []
        var start = 0
        var watchingWritable = false
        var ended = false
        var queuedBytes: Int { buffer.count - start }
    }

    /// The socket, owned by this connection and closed when it ends.
    let descriptor: Int32
    private let reactor: Reactor
    private let maximumQueuedBytes: Int
    private let decoder: Mutex<FrameDecoder>
    private let decode: Decode
    private let outbound = Mutex(Outbound())
    /// The owner's callbacks, held by reference so reading them never re-wraps the closures.
    private final class Handlers: Sendable {
        let message: MessageHandler
        let end: EndHandler
        init(message: @escaping MessageHandler, end: @escaping EndHandler) {
            self.message = message
            self.end = end
        }
    }

    private let handlers: Mutex<Handlers?>
    private let counters = Mutex((framesIn: 0, framesOut: 0))

    /// Wraps `descriptor` (a connected stream socket; made non-blocking here). Nothing is read
    /// until ``start()``, so the owner can store the connection before the first message arrives.
    init(
        descriptor: Int32,
        reactor: Reactor,
        maximumFrameLength: Int,
        maximumQueuedBytes: Int,
        decode: @escaping Decode,
        onMessage: @escaping MessageHandler,
        onEnd: @escaping EndHandler
    ) throws(SystemCallError) {
        self.descriptor = descriptor
        self.reactor = reactor
        self.maximumQueuedBytes = maximumQueuedBytes
        self.decoder = Mutex(FrameDecoder(maximumFrameLength: maximumFrameLength))
        self.decode = decode
        self.handlers = Mutex(Handlers(message: onMessage, end: onEnd))
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
    }

    /// Starts reading: from now on messages and the end are delivered on the reactor thread.
    func start() throws(SystemCallError) {
        try reactor.register(descriptor, interest: [.readable]) { [weak self] events in
            self?.handle(events)
        }
    }

    /// Frames received and sent so far.
    var frameCounts: (received: Int, sent: Int) {
        counters.withLock { ($0.framesIn, $0.framesOut) }
    }

    /// Sends an already encoded frame (header included).
    @discardableResult
    func send(frame: [UInt8]) -> Bool {
        let outcome: SendOutcome = outbound.withLock { out in
            if out.ended { return .ended }
            var offset = 0
            if out.queuedBytes == 0 {
                while offset < frame.count {
                    let written: Int = frame.withUnsafeBytes { raw in
                        ps_send(descriptor, raw.baseAddress! + offset, raw.count - offset)
                    }
                    if written >= 0 {
                        offset += written
                        continue
                    }
                    let code = errno
                    if code == EINTR { continue }
                    if code == EAGAIN || code == EWOULDBLOCK { break }
                    out.ended = true
                    return .failed(SystemCallError(function: "send", errno: code))
                }
            }
            if offset < frame.count {
                if out.start > 0 && out.start >= out.buffer.count / 2 {
                    out.buffer.removeSubrange(0..<out.start)
                    out.start = 0
                }
                out.buffer.append(contentsOf: frame[offset...])
                if out.queuedBytes > maximumQueuedBytes {
                    out.ended = true
                    return .overflow(out.queuedBytes)
                }
                if !out.watchingWritable {
                    out.watchingWritable = true
                    reactor.modify(descriptor, interest: [.readable, .writable])
                }
            }
            return .sent
        }
        switch outcome {
        case .sent:
            counters.withLock { $0.framesOut += 1 }
            return true
        case .ended:
            return false
        case .overflow(let bytes):
            end(.outboundOverflow(bytes: bytes))
            return false
        case .failed(let error) where error.errno == EPIPE || error.errno == ECONNRESET:
            // The peer is gone; how it went is for its owner to find out (a worker's pidfd says).
            end(.closed)
            return false
        case .failed(let error):
            end(.failed(error))
            return false
        }
    }

    /// Ends the connection without waiting for queued bytes; the end handler is not called.
    func close() {
        guard takeHandlers() != nil else { return }
        teardown()
    }

    private func handle(_ events: ReadinessEvents) {
        if events.contains(.writable) { flush() }
        if events.contains(.readable) || events.contains(.hangup) || events.contains(.error) {
            readAvailable()
        }
    }

    private func flush() {
        let failure: SystemCallError? = outbound.withLock { out in
            while out.queuedBytes > 0 {
                let written: Int = out.buffer.withUnsafeBytes { raw in
                    ps_send(descriptor, raw.baseAddress! + out.start, out.queuedBytes)
                }
                if written >= 0 {
                    out.start += written
                    continue
                }
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return nil }
                return SystemCallError(function: "send", errno: code)
            }
            out.buffer.removeAll(keepingCapacity: false)
            out.start = 0
            if out.watchingWritable {
                out.watchingWritable = false
                reactor.modify(descriptor, interest: [.readable])
            }
            return nil
        }
        if let failure { end(failure.errno == EPIPE || failure.errno == ECONNRESET ? .closed : .failed(failure)) }
    }

    private func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { raw in
                read(descriptor, raw.baseAddress, raw.count)
            }
            if count > 0 {
                if !deliver(chunk[0..<count]) { return }
                if count < chunk.count { return }
                continue
            }
            if count == 0 {
                end(.closed)
                return
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return }
            end(code == ECONNRESET ? .closed : .failed(SystemCallError(function: "read", errno: code)))
            return
        }
    }

    /// Decodes every complete frame in `bytes`; false when the connection ended.
    private func deliver(_ bytes: ArraySlice<UInt8>) -> Bool {
        var messages: [Message] = []
        var breach: String?
        decoder.withLock { decoder in
            bytes.withUnsafeBytes { decoder.append($0) }
            do {
                while let body = try decoder.nextFrame() {
                    messages.append(try decode(body))
                }
            } catch {
                breach = String(describing: error)
            }
        }
        if !messages.isEmpty {
            counters.withLock { $0.framesIn += messages.count }
            guard let current = handlers.withLock({ $0 }) else { return false }
            for message in messages { current.message(message) }
        }
        if let breach {
            end(.breach(breach))
            return false
        }
        return true
    }

    private func end(_ reason: ConnectionEnd) {
        guard let handlers = takeHandlers() else { return }
        teardown()
        handlers.end(reason)
    }

    /// Clears the handlers; only the first caller gets them, so the connection ends once.
    private func takeHandlers() -> Handlers? {
        handlers.withLock { current in
            defer { current = nil }
            return current
        }
    }

    /// Closes the socket on the reactor thread, so no handler is reading it while it closes.
    private func teardown() {
        outbound.withLock { $0.ended = true }
        let descriptor = self.descriptor
        let reactor = self.reactor
        reactor.execute {
            reactor.deregister(descriptor)
            Glibc.close(descriptor)
        }
    }
}

extension FrameConnection where Message == WireMessage {
    /// Encodes and sends `message`, or queues it behind earlier bytes.
    /// Returns false when the connection has already ended.
    @discardableResult
    func send(_ message: WireMessage) -> Bool {
        var frame: [UInt8] = []
        guard (try? MessageCodec.appendFrame(message, to: &frame)) != nil else { return false }
        return send(frame: frame)
    }
}
