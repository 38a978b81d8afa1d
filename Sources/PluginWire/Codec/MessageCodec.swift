import Foundation

/// Turns ``WireMessage`` values into frames and frame bodies back into messages.
public enum MessageCodec {
    /// The protocol version this build speaks (same as ``ProtocolVersion/current``).
    public static let protocolVersion = ProtocolVersion.current

    /// Encodes `message` as a complete frame: 4-byte header and JSON body in one buffer.
    ///
    /// - Throws: ``WireError/unencodable(kind:description:)`` for a value with no JSON form,
    ///   ``WireError/frameTooLong(kind:length:maximum:)`` when the body exceeds `maximumFrameLength`.
    public static func encodeFrame(
        _ message: WireMessage, maximumFrameLength: Int = WireLimits.defaultMaximumFrameLength
    ) throws(WireError) -> [UInt8] {
        var frame: [UInt8] = []
        try appendFrame(message, to: &frame, maximumFrameLength: maximumFrameLength)
        return frame
    }

    /// Appends `message` as a complete frame to `buffer`, so several frames can share one write.
    ///
    /// On error `buffer` is left unchanged.
    public static func appendFrame(
        _ message: WireMessage, to buffer: inout [UInt8],
        maximumFrameLength: Int = WireLimits.defaultMaximumFrameLength
    ) throws(WireError) {
        let body = try encodeBody(message)
        guard body.count <= maximumFrameLength else {
            throw .frameTooLong(kind: message.kind, length: body.count, maximum: maximumFrameLength)
        }
        FrameEncoder.append(body: body, to: &buffer)
    }

    /// Encodes `message` as its JSON body, without the frame header.
    public static func encodeBody(_ message: WireMessage) throws(WireError) -> Data {
        try JSONCoding.encode(message, kind: message.kind)
    }

    /// Decodes one frame body (as returned by ``FrameDecoder/nextFrame()``) into a message.
    ///
    /// - Throws: ``WireError`` naming what was wrong: invalid UTF-8, malformed JSON, a
    ///   non-object, a missing or unknown kind, a missing field, a wrong type or value.
    public static func decode(body: some Collection<UInt8>) throws(WireError) -> WireMessage {
        try JSONCoding.decode(WireMessage.self, from: JSONCoding.parse(body), kind: nil)
    }
}
