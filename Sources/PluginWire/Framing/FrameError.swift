/// An error raised by ``FrameDecoder`` when the byte stream breaks the framing rules.
///
/// Every case is a protocol breach: the peer that sent the bytes cannot be trusted to
/// resynchronise, so the connection should be closed.
public enum FrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header announced a frame of zero bytes; every frame must carry one JSON object.
    case zeroLength
    /// The header announced `length` bytes, more than the negotiated `maximum`.
    case tooLong(length: Int, maximum: Int)

    /// A message that names the limit that was broken.
    public var description: String {
        switch self {
        case .zeroLength:
            return "frame header announces a length of 0; every frame must carry one JSON object"
        case .tooLong(let length, let maximum):
            return "frame header announces \(length) bytes, more than the maximum of \(maximum) bytes"
        }
    }
}
