/// Turns ``WireMessage`` values into frames and frame bodies back into messages.
///
/// Both directions are hand-written over raw bytes: no Foundation, no `Codable`, no
/// intermediate tree. Payloads (``RawJSON``) are spliced into the frame verbatim when writing
/// and sliced out of the body after validation when reading.
public enum MessageCodec {
    /// The protocol version this build speaks (same as ``ProtocolVersion/current``).
    public static let protocolVersion = ProtocolVersion.current

    /// Appends `message` as one complete frame (4-byte big-endian length, then the JSON body)
    /// to `buffer`, so several frames can share one write.
    ///
    /// The buffer grows once (geometrically) for the estimated size; the length is patched in
    /// after the body is written. On error `buffer` is left as it was.
    ///
    /// - Throws: ``WireError/Code/frameTooLong`` when the body is longer than `maximumFrameLength`.
    public static func appendFrame(
        _ message: WireMessage, to buffer: inout [UInt8],
        maximumFrameLength: Int = WireLimits.defaultMaximumFrameLength
    ) throws(WireError) {
        let start = buffer.count
        var output = JSONOutput()
        swap(&output.bytes, &buffer)
        defer { swap(&output.bytes, &buffer) }
        output.reserve(WireLimits.headerLength + MessageEncoder.estimatedLength(of: message))
        for _ in 0..<WireLimits.headerLength { output.append(byte: 0) }
        MessageEncoder.write(message, to: &output)
        let length = output.bytes.count - start - WireLimits.headerLength
        guard length <= min(maximumFrameLength, WireLimits.largestEncodableLength) else {
            output.bytes.removeLast(output.bytes.count - start)
            throw .frameTooLong(kind: message.kind, length: length, maximum: maximumFrameLength)
        }
        output.bytes.withUnsafeMutableBufferPointer { frame in
            frame[start] = UInt8(truncatingIfNeeded: length >> 24)
            frame[start + 1] = UInt8(truncatingIfNeeded: length >> 16)
            frame[start + 2] = UInt8(truncatingIfNeeded: length >> 8)
            frame[start + 3] = UInt8(truncatingIfNeeded: length)
        }
    }

    /// Encodes `message` as one complete frame in a new buffer.
    ///
    /// - Precondition: the body fits a frame header (at most ``WireLimits/largestEncodableLength``
    ///   bytes); use ``appendFrame(_:to:maximumFrameLength:)`` to enforce a negotiated maximum.
    public static func encodeFrame(_ message: WireMessage) -> [UInt8] {
        var frame: [UInt8] = []
        do {
            try appendFrame(message, to: &frame, maximumFrameLength: WireLimits.largestEncodableLength)
        } catch {
            preconditionFailure("\(error)")
        }
        return frame
    }

    /// Encodes `message` as its JSON body, without the frame header.
    public static func encodeBody(_ message: WireMessage) -> [UInt8] {
        var output = JSONOutput()
        output.reserve(MessageEncoder.estimatedLength(of: message))
        MessageEncoder.write(message, to: &output)
        return output.bytes
    }

    /// Decodes one frame body (as returned by ``FrameDecoder/nextFrame()``) into a message.
    ///
    /// The body must be exactly one JSON object (whitespace around it allowed) with a known
    /// `kind` and that kind's fields; unknown fields are validated and ignored.
    ///
    /// - Throws: ``WireError`` with the byte offset and the field path of the first problem:
    ///   invalid UTF-8, malformed JSON, nesting too deep, trailing data, a non-object, a missing
    ///   or unknown kind, a missing field, a wrong type, a number out of range, an invalid value.
    public static func decode(body: UnsafeRawBufferPointer) throws(WireError) -> WireMessage {
        try MessageDecoder.decode(body)
    }

    /// Decodes one frame body held in any byte collection (copied only when not contiguous).
    @inlinable
    public static func decode(body: some Collection<UInt8>) throws(WireError) -> WireMessage {
        let decoded = body.withContiguousStorageIfAvailable { buffer in
            Result { () throws(WireError) in try decode(body: UnsafeRawBufferPointer(buffer)) }
        }
        if let decoded { return try decoded.get() }
        return try Array(body).withUnsafeBufferPointer { (buffer) throws(WireError) in
            try decode(body: UnsafeRawBufferPointer(buffer))
        }
    }
}
