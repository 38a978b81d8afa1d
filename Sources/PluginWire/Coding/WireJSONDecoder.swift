import Foundation

/// Decodes `Decodable` values straight from the bytes of a validated ``RawJSON``, without an
/// intermediate tree: each container indexes only its own level, each scalar is parsed where
/// it lies.
///
/// Reads what Foundation's `JSONDecoder` with default strategies reads (`Date` from seconds
/// since 2001, `Data` from Base64, `URL` from a string, `Decimal` from a number). Failures are
/// `DecodingError`s with the coding path, carrying the byte offset in a ``JSONLocation``.
enum WireJSONDecoder {
    static func decode<Value: Decodable>(_ type: Value.Type, from raw: RawJSON) throws -> Value {
        try JSONInput(bytes: raw.bytes).decode(type, at: 0, path: [])
    }
}

/// Where in the bytes a decoding error was seen, and what kind of error it is.
struct JSONLocation: Error {
    let offset: Int
    let code: WireError.Code
}

/// The validated bytes being decoded.
struct JSONInput {
    let bytes: [UInt8]

    /// Runs `body` with a scanner at `offset`.
    func scan<Result>(at offset: Int, _ body: (inout JSONScanner) throws(WireError) -> Result) throws -> Result {
        do {
            return try bytes.withUnsafeBufferPointer { (buffer) throws(WireError) -> Result in
                guard let base = buffer.baseAddress, offset < buffer.count else {
                    throw .malformed(offset, "unexpected end of input, expected a value")
                }
                var scanner = JSONScanner(base, count: buffer.count, index: offset)
                return try body(&scanner)
            }
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: error.reason, underlyingError: error))
        }
    }

    func type(at offset: Int) -> JSONType { JSONType(firstByte: bytes[offset]) }

    /// The error for a value at `offset` that is not of the JSON type `Value` is read from.
    func mismatch(_ type: Any.Type, at offset: Int, path: [any CodingKey]) -> DecodingError {
        let found = self.type(at: offset)
        let location = JSONLocation(offset: offset, code: .wrongType)
        if found == .null {
            return .valueNotFound(type, .init(codingPath: path, debugDescription: "found null", underlyingError: location))
        }
        return .typeMismatch(type, .init(codingPath: path, debugDescription: "found \(found.name)", underlyingError: location))
    }

    // MARK: Scalars

    func bool(at offset: Int, path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        guard type(at: offset) == .boolean else { throw mismatch(Bool.self, at: offset, path: path()) }
        return bytes[offset] == UInt8(ascii: "t")
    }

    func string(at offset: Int, path: @autoclosure () -> [any CodingKey]) throws -> String {
        guard type(at: offset) == .string else { throw mismatch(String.self, at: offset, path: path()) }
        return try scan(at: offset) { (scanner) throws(WireError) in try scanner.string(scanner.skipString()) }
    }

    func integer<Integer: FixedWidthInteger>(_ type: Integer.Type, at offset: Int, path: @autoclosure () -> [any CodingKey]) throws -> Integer {
        guard self.type(at: offset) == .number else { throw mismatch(type, at: offset, path: path()) }
        let end = try end(of: offset)
        if let integer = bytes.withUnsafeBufferPointer({ $0.baseAddress.flatMap { JSONNumber.integer(type, $0 + offset, count: end - offset) } }) {
            return integer
        }
        let text = String(decoding: bytes[offset..<end], as: UTF8.self)
        throw DecodingError.dataCorrupted(.init(codingPath: path(), debugDescription: "number \(Printable.truncated(text)) does not fit in \(type)",
                                                underlyingError: JSONLocation(offset: offset, code: .outOfRange)))
    }

    func double(at offset: Int, path: @autoclosure () -> [any CodingKey]) throws -> Double {
        guard type(at: offset) == .number else { throw mismatch(Double.self, at: offset, path: path()) }
        let value = try scan(at: offset) { (scanner) throws(WireError) -> Double? in
            try scanner.skipNumber()
            return JSONNumber.double(scanner.start + offset, count: scanner.index - offset)
        }
        guard let value else {
            throw DecodingError.dataCorrupted(.init(codingPath: path(), debugDescription: "number is not representable as a Double",
                                                    underlyingError: JSONLocation(offset: offset, code: .outOfRange)))
        }
        return value
    }

    func float(at offset: Int, path: @autoclosure () -> [any CodingKey]) throws -> Float {
        let value = try double(at: offset, path: path())
        guard let float = Float(exactly: value) ?? (abs(value) <= Double(Float.greatestFiniteMagnitude) ? Float(value) : nil) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path(), debugDescription: "number \(value) does not fit in Float",
                                                    underlyingError: JSONLocation(offset: offset, code: .outOfRange)))
        }
        return float
    }

    /// The end of the value at `offset`.
    func end(of offset: Int) throws -> Int {
        try scan(at: offset) { (scanner) throws(WireError) -> Int in
            try scanner.skipValue()
            return scanner.index
        }
    }

    // MARK: Any type

    /// Decodes `Value` from the value at `offset`: our own JSON types and the types Foundation's
    /// `JSONDecoder` special-cases directly, everything else through its `init(from:)`.
    func decode<Value: Decodable>(_ type: Value.Type, at offset: Int, path: [any CodingKey]) throws -> Value {
        // The scalars generic containers ask for most (an Array<String> asks through this
        // generic entry), read directly. Each cast is guarded by the metatype test above it.
        if Value.self == String.self { return unsafeBitCast(try string(at: offset, path: path), to: Value.self) }
        if Value.self == Int.self { return unsafeBitCast(try integer(Int.self, at: offset, path: path), to: Value.self) }
        if Value.self == Double.self { return unsafeBitCast(try double(at: offset, path: path), to: Value.self) }
        if Value.self == Bool.self { return unsafeBitCast(try bool(at: offset, path: path), to: Value.self) }
        if Value.self == RawJSON.self, let raw = try RawJSON(unchecked: Array(bytes[offset..<end(of: offset)])) as? Value {
            return raw
        }
        if Value.self == JSONValue.self, let tree = try scan(at: offset, { (scanner) throws(WireError) in try JSONValue.read(&scanner) }) as? Value {
            return tree
        }
        if Value.self == Data.self {
            let text = try string(at: offset, path: path)
            guard let data = Data(base64Encoded: text) as? Value else { throw corrupted("Encountered Data is not valid Base64.", offset, path) }
            return data
        }
        if Value.self == URL.self {
            let text = try string(at: offset, path: path)
            guard let url = URL(string: text) as? Value else { throw corrupted("Invalid URL string.", offset, path) }
            return url
        }
        if Value.self == Decimal.self {
            guard self.type(at: offset) == .number else { throw mismatch(Decimal.self, at: offset, path: path) }
            let text = String(decoding: try bytes[offset..<end(of: offset)], as: UTF8.self)
            guard let decimal = Decimal(string: text) as? Value else { throw corrupted("Invalid Decimal number.", offset, path) }
            return decimal
        }
        return try Value(from: ValueDecoder(input: self, offset: offset, codingPath: path))
    }

    private func corrupted(_ description: String, _ offset: Int, _ path: [any CodingKey]) -> DecodingError {
        .dataCorrupted(.init(codingPath: path, debugDescription: description, underlyingError: JSONLocation(offset: offset, code: .invalidValue)))
    }
}

/// The decoder of one value: a single-value container itself, or the source of its container.
struct ValueDecoder: Decoder, SingleValueDecodingContainer {
    let input: JSONInput
    let offset: Int
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard input.type(at: offset) == .object else { throw input.mismatch([String: Any].self, at: offset, path: codingPath) }
        return KeyedDecodingContainer(try KeyedDecoder<Key>(input: input, offset: offset, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard input.type(at: offset) == .array else { throw input.mismatch([Any].self, at: offset, path: codingPath) }
        return try UnkeyedDecoder(input: input, offset: offset, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { input.type(at: offset) == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try input.bool(at: offset, path: codingPath) }
    func decode(_ type: String.Type) throws -> String { try input.string(at: offset, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try input.double(at: offset, path: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try input.float(at: offset, path: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try input.integer(type, at: offset, path: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try input.integer(type, at: offset, path: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try input.integer(type, at: offset, path: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try input.integer(type, at: offset, path: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try input.integer(type, at: offset, path: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try input.integer(type, at: offset, path: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try input.integer(type, at: offset, path: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try input.integer(type, at: offset, path: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try input.integer(type, at: offset, path: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try input.integer(type, at: offset, path: codingPath) }

    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        try input.decode(type, at: offset, path: codingPath)
    }
}
