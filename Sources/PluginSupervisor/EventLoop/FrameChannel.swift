import DequeModule
import PluginSystem
import PluginWire
import SystemPackage

/// Why a ``FrameChannel`` stopped.
enum ChannelEnd: Sendable, Equatable {
    /// The peer closed its end (end of stream, hang-up, broken pipe, reset).
    case closed
    /// The peer sent bytes that are not a frame (a bad length header).
    case invalidFrame(String)
    /// The peer stopped reading and the outbound queue passed its bound.
    case outboundOverflow(bytes: Int)
    /// A read or write failed otherwise.
    case failed(SystemCallError)
}

/// What a ``FrameChannel`` reports to its owner, on the loop's thread.
protocol FrameChannelDelegate: AnyObject {
    /// One complete frame body. Return false to stop reading (the owner is ending the channel).
    func channel(_ channel: FrameChannel, received body: ArraySlice<UInt8>) -> Bool
    /// The channel ended; it has already closed its descriptor.
    func channel(_ channel: FrameChannel, ended: ChannelEnd)
}

/// A non-blocking, framed view of one connected stream socket on one ``EventLoop``.
///
/// Fair by construction: each readiness event reads at most one buffer (64 KiB) and delivers at
/// most ``Budget/framesPerTurn`` frames, then yields to the loop's other descriptors; frames left
/// in the decoder are delivered on a later turn. Writes go out at once when the socket has room,
/// else queue up to a bound; a peer that stops reading past it ends the channel.
/// Every method runs on the loop's thread.
final class FrameChannel: ReadinessHandler {
    /// How much one channel may do per turn of its loop.
    struct Budget: Sendable {
        /// Frames delivered per readiness event before the loop serves others.
        var framesPerTurn = 64
    }

    /// The socket (owned: closed when the channel ends).
    let descriptor: FileDescriptor
    private let loop: EventLoop
    private let budget: Budget
    private let maximumQueuedBytes: Int
    private var decoder: FrameDecoder
    private weak var delegate: (any FrameChannelDelegate)?
    private var outbound = Deque<[UInt8]>()
    private var firstOffset = 0
    private var queuedBytes = 0
    private var watchingWritable = false
    private var ended = false
    private var drainScheduled = false
    /// Complete frames may still sit in the decoder (the per-turn budget ran out before them).
    private var framesBuffered = false
    /// Frames received and sent, for `ls` and `inspect`.
    private(set) var framesIn = 0
    private(set) var framesOut = 0

    /// Takes `descriptor` (made non-blocking here); nothing is read until ``start(delegate:)``.
    init(descriptor: FileDescriptor, loop: EventLoop, maximumFrameLength: Int, maximumQueuedBytes: Int, budget: Budget = Budget()) throws(SystemCallError) {
        self.descriptor = descriptor
        self.loop = loop
        self.budget = budget
        self.maximumQueuedBytes = maximumQueuedBytes
        self.decoder = FrameDecoder(maximumFrameLength: maximumFrameLength)
        try descriptor.setNonBlocking()
    }

    /// Starts reading; from now on frames and the end reach `delegate` (held weakly).
    func start(delegate: any FrameChannelDelegate) throws(SystemCallError) {
        loop.assertInEventLoop()
        self.delegate = delegate
        try loop.register(descriptor, interest: .readable, handler: self)
    }

    /// Whether the channel has ended.
    var isEnded: Bool { ended }

    /// Bytes waiting to go out.
    var pendingOutboundBytes: Int { queuedBytes }

    /// Whether what the peer sent is still unread by the supervisor: bytes in the socket, or
    /// complete frames not yet delivered. (A partial frame does not count: it was read, and a peer
    /// that stops half-way through a frame cannot hide behind it.)
    var hasUnreadInput: Bool {
        if ended { return false }
        if framesBuffered { return true }
        return ((try? descriptor.readableByteCount()) ?? 0) > 0
    }

    // MARK: Writing

    /// Sends a complete frame (header included), or queues it behind earlier bytes.
    /// Returns false when the channel has ended (the frame is dropped).
    @discardableResult
    func send(_ frame: [UInt8]) -> Bool {
        loop.assertInEventLoop()
        guard !ended else { return false }
        framesOut += 1
        if outbound.isEmpty {
            let sent = frame.withUnsafeBytes { bytes -> Int? in
                var offset = 0
                while offset < bytes.count {
                    switch descriptor.sendNow(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                    case .transferred(let count): offset += count
                    case .wouldBlock: return offset
                    case .endOfStream:
                        end(.closed)
                        return nil
                    case .failed(let errno):
                        end(.failed(SystemCallError(function: "send", errno: errno)))
                        return nil
                    }
                }
                return offset
            }
            guard let sent else { return false }
            if sent == frame.count { return true }
            enqueue(frame, from: sent)
        } else {
            enqueue(frame, from: 0)
        }
        return !ended
    }

    private func enqueue(_ frame: [UInt8], from offset: Int) {
        if outbound.isEmpty { firstOffset = offset }
        outbound.append(frame)
        queuedBytes += frame.count - offset
        if queuedBytes > maximumQueuedBytes {
            end(.outboundOverflow(bytes: queuedBytes))
            return
        }
        if !watchingWritable {
            watchingWritable = true
            loop.setInterest(descriptor, [.readable, .writable])
        }
    }

    private func flush() {
        while let first = outbound.first {
            let result = first.withUnsafeBytes { descriptor.sendNow(UnsafeRawBufferPointer(rebasing: $0[firstOffset...])) }
            switch result {
            case .transferred(let count):
                firstOffset += count
                queuedBytes -= count
                if firstOffset == first.count {
                    outbound.removeFirst()
                    firstOffset = 0
                }
            case .wouldBlock:
                return
            case .endOfStream:
                return end(.closed)
            case .failed(let errno):
                return end(.failed(SystemCallError(function: "send", errno: errno)))
            }
        }
        if watchingWritable {
            watchingWritable = false
            loop.setInterest(descriptor, .readable)
        }
    }

    // MARK: Reading

    func ready(_ events: Readiness) {
        if events.contains(.writable) { flush() }
        guard !ended else { return }
        if events.contains(.readable) || events.contains(.hangup) || events.contains(.error) {
            readOnce()
        }
    }

    /// One read (at most the loop's buffer), then frames up to the budget.
    private func readOnce() {
        let outcome = loop.withScratch { scratch -> TransferResult in
            let result = descriptor.readNow(into: scratch)
            if case .transferred(let count) = result {
                decoder.append(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
            }
            return result
        }
        switch outcome {
        case .transferred:
            deliverBuffered()
        case .wouldBlock:
            return
        case .endOfStream:
            // Frames that arrived before the end are still the peer's words: deliver them first.
            deliverBuffered(untilEmpty: true)
            end(.closed)
        case .failed(let errno):
            end(.failed(SystemCallError(function: "read", errno: errno)))
        }
    }

    private func deliverBuffered(untilEmpty: Bool = false) {
        var delivered = 0
        while !ended, untilEmpty || delivered < budget.framesPerTurn {
            let body: ArraySlice<UInt8>?
            do {
                body = try decoder.nextFrame()
            } catch {
                return end(.invalidFrame(String(describing: error)))
            }
            guard let body else {
                framesBuffered = false
                return
            }
            delivered += 1
            framesIn += 1
            guard delegate?.channel(self, received: body) ?? false else { return }
        }
        if !ended, decoder.bufferedByteCount >= 4, !drainScheduled {
            // More frames are buffered: serve them after the loop's other descriptors.
            framesBuffered = true
            drainScheduled = true
            let bound = LoopBound(self, loop: loop)
            loop.execute {
                let channel = bound.value
                channel.drainScheduled = false
                channel.deliverBuffered()
            }
        }
    }

    // MARK: Ending

    /// Ends the channel without telling the delegate (its owner is the one ending it).
    func close() {
        guard !ended else { return }
        ended = true
        teardown()
    }

    private func end(_ reason: ChannelEnd) {
        guard !ended else { return }
        ended = true
        teardown()
        delegate?.channel(self, ended: reason)
    }

    private func teardown() {
        loop.deregister(descriptor)
        descriptor.closeAfterUse()
        outbound.removeAll()
        queuedBytes = 0
        decoder = FrameDecoder(maximumFrameLength: decoder.maximumFrameLength)
    }
}
