/// Splits an incoming byte stream into frame bodies, whatever the read boundaries.
///
/// Feed it every chunk read from the socket with `append(_:)`,
/// then call ``nextFrame()`` until it returns `nil`. One chunk may hold many frames or a
/// fraction of one. A header that announces zero bytes or more than
/// ``maximumFrameLength`` is rejected as soon as its four bytes are present, before any
/// room for the body is reserved; after that error the decoder stays failed, drops its
/// buffer and ignores further input.
///
/// Consumed bytes are dropped from the front of the buffer once they make up at least
/// half of it, so a decoder that is drained after each read holds at most one partial
/// frame plus one read's worth of bytes.
public struct FrameDecoder: Sendable {
    private enum State: Sendable {
        /// Reading frames; `consumed` bytes at the front of `buffer` are already returned.
        case reading(consumed: Int)
        /// A header broke the rules; the stream cannot be resynchronised.
        case failed(FrameError)
    }

    /// The largest body length accepted; longer announcements are errors.
    public let maximumFrameLength: Int
    private var buffer: [UInt8] = []
    private var state: State = .reading(consumed: 0)

    /// Creates a decoder that accepts bodies of 1 to `maximumFrameLength` bytes.
    ///
    /// - Precondition: `maximumFrameLength` is positive and at most ``WireLimits/largestEncodableLength``.
    public init(maximumFrameLength: Int = WireLimits.defaultMaximumFrameLength) {
        precondition(maximumFrameLength > 0 && maximumFrameLength <= WireLimits.largestEncodableLength,
                     "maximumFrameLength must be in 1...\(WireLimits.largestEncodableLength)")
        self.maximumFrameLength = maximumFrameLength
    }

    /// Bytes received but not yet returned as part of a frame (0 once the decoder has failed).
    public var bufferedByteCount: Int {
        switch state {
        case .reading(let consumed): return buffer.count - consumed
        case .failed: return 0
        }
    }

    /// Appends bytes read from the stream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard compact() else { return }
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes read from the stream (contiguous collections without a copy in between).
    @inlinable
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        let appended: Void? = bytes.withContiguousStorageIfAvailable { append(UnsafeRawBufferPointer($0)) }
        if appended == nil { Array(bytes).withUnsafeBytes { append($0) } }
    }

    /// Returns the next complete frame body, or `nil` when more bytes are needed.
    ///
    /// The returned slice shares storage with the decoder's buffer: drop it (or copy it)
    /// before the next `append(_:)` to avoid a copy of the buffer.
    /// - Throws: ``FrameError`` when a header announces an empty or oversize frame; every
    ///   later call throws the same error.
    public mutating func nextFrame() throws(FrameError) -> ArraySlice<UInt8>? {
        let consumed: Int
        switch state {
        case .failed(let error): throw error
        case .reading(let alreadyConsumed): consumed = alreadyConsumed
        }
        let headerLength = WireLimits.headerLength
        guard buffer.count - consumed >= headerLength else { return nil }
        let length = buffer.withUnsafeBufferPointer { bytes in
            Int(bytes[consumed]) << 24 | Int(bytes[consumed + 1]) << 16
                | Int(bytes[consumed + 2]) << 8 | Int(bytes[consumed + 3])
        }
        if length == 0 { throw fail(.zeroLength) }
        if length > maximumFrameLength { throw fail(.tooLong(length: length, maximum: maximumFrameLength)) }
        let bodyStart = consumed + headerLength
        let bodyEnd = bodyStart + length
        guard bodyEnd <= buffer.count else {
            if buffer.capacity < bodyEnd { buffer.reserveCapacity(bodyEnd) }
            return nil
        }
        state = .reading(consumed: bodyEnd)
        return buffer[bodyStart..<bodyEnd]
    }

    /// Enters the failed state, releasing the buffer, and returns the error to throw.
    private mutating func fail(_ error: FrameError) -> FrameError {
        state = .failed(error)
        buffer = []
        return error
    }

    /// Drops returned bytes from the front once they are at least half the buffer.
    /// Returns `false` when the decoder has failed and input must be ignored.
    private mutating func compact() -> Bool {
        guard case .reading(let consumed) = state else { return false }
        guard consumed > 0 else { return true }
        if consumed == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            state = .reading(consumed: 0)
        } else if consumed * 2 >= buffer.count {
            buffer.removeSubrange(0..<consumed)
            state = .reading(consumed: 0)
        }
        return true
    }
}
