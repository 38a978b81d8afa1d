/// One complete, validated JSON value, kept as its UTF-8 bytes.
///
/// Payloads and settings travel as `RawJSON`: the decoder validates a payload once and slices
/// it out of the frame, the encoder splices its bytes into the next frame verbatim, and only
/// the edge that needs a Swift type decodes it (``decode(_:)``). A supervisor can therefore
/// route or broadcast an event without parsing it again.
///
/// Every `RawJSON` holds exactly one RFC 8259 value with no surrounding whitespace: valid
/// UTF-8, escapes well formed (no lone surrogates), numbers finite as a `Double`, nesting at
/// most ``maximumDepth`` levels. Equality and hashing compare bytes, so `{"a":1}` and
/// `{ "a": 1 }` are different values.
public struct RawJSON: Sendable, Hashable, CustomStringConvertible {
    /// The deepest nesting of arrays and objects a value may have.
    public static let maximumDepth = 512

    /// The JSON text, as UTF-8.
    public let bytes: [UInt8]

    /// Wraps bytes known to hold one valid value (written by this module's own writer or sliced
    /// from a validated frame).
    init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// JSON `null`.
    public static let null = RawJSON(unchecked: Array("null".utf8))

    /// An empty JSON object, `{}`.
    public static let emptyObject = RawJSON(unchecked: Array("{}".utf8))

    /// Validates `bytes` as exactly one JSON value; whitespace around it is allowed and dropped.
    ///
    /// - Throws: ``WireError`` with the byte offset and the path inside the value: invalid
    ///   UTF-8, malformed JSON, an out-of-range number, nesting past ``maximumDepth``, or data
    ///   after the value.
    public init(validating bytes: some Collection<UInt8>) throws(WireError) {
        if let array = bytes as? [UInt8] {
            self = try array.withUnsafeBufferPointer { (buffer) throws(WireError) in
                try RawJSON(validating: UnsafeRawBufferPointer(buffer), keeping: array)
            }
            return
        }
        let validated = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(WireError) in try RawJSON(validating: UnsafeRawBufferPointer(buffer)) }
        }
        if let validated {
            self = try validated.get()
        } else {
            self = try RawJSON(validating: Array(bytes))
        }
    }

    /// Validates the bytes of `buffer` as exactly one JSON value (see ``init(validating:)-5ao9w``).
    public init(validating buffer: UnsafeRawBufferPointer) throws(WireError) {
        self = try RawJSON(validating: buffer, keeping: nil)
    }

    private init(validating buffer: UnsafeRawBufferPointer, keeping original: [UInt8]?) throws(WireError) {
        let range = try JSONScanner.scanning(buffer) { (scanner) throws(WireError) -> Range<Int> in
            do throws(WireError) {
                scanner.skipWhitespace()
                let start = scanner.index
                try scanner.skipValue()
                let end = scanner.index
                scanner.skipWhitespace()
                guard scanner.index == scanner.count else {
                    throw WireError(code: .trailingData, offset: scanner.index, reason: "unexpected data after the JSON value")
                }
                return start..<end
            } catch {
                let field = JSONPathLocator.path(scanner.start, count: scanner.count, from: 0, to: error.offset ?? 0)
                throw error.located(subject: nil, field: field)
            }
        }
        if let original, range.count == original.count {
            bytes = original
        } else {
            bytes = Array(buffer[range])
        }
    }

    /// The JSON text.
    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// Calls `body` with the value's bytes.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try bytes.withUnsafeBufferPointer { (buffer) throws(Failure) in try body(UnsafeRawBufferPointer(buffer)) }
    }
}
