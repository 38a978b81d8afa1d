import Foundation

/// The JSON reading and writing behind ``MessageCodec`` and ``JSONValue``: our own strict
/// parser and tree decoder for reading (byte offsets and field paths in every error),
/// Foundation's `JSONEncoder` for writing; every failure becomes a ``WireError``.
enum JSONCoding {
    /// Parses UTF-8 JSON bytes into a tree, reporting bad UTF-8 and syntax by byte offset.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(WireError) -> JSONNode {
        if let offset = UTF8Validation.firstInvalidOffset(in: bytes) {
            throw .invalidUTF8(offset: offset)
        }
        return try JSONParser.parse(bytes)
    }

    /// Parses any byte collection, copying it only when it is not contiguous.
    static func parse(_ bytes: some Collection<UInt8>) throws(WireError) -> JSONNode {
        let parsed = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(WireError) in try parse(buffer) }
        }
        if let parsed { return try parsed.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer throws(WireError) in try parse(buffer) }
    }

    /// Decodes `type` from a parsed tree, reporting failures against `kind` (or `JSONValue`).
    static func decode<Value: Decodable>(_ type: Value.Type, from node: JSONNode, kind: String?) throws(WireError) -> Value {
        do {
            return try JSONTreeDecoder(node: node).decode(type)
        } catch let error as WireError {
            throw error
        } catch let error as DecodingError {
            throw WireError(error, kind: kind ?? "JSONValue")
        } catch {
            throw .invalidValue(kind: kind ?? "JSONValue", field: "(top level)", description: String(describing: error))
        }
    }

    /// Encodes `value` as compact UTF-8 JSON.
    static func encode(_ value: some Encodable, kind: String?) throws(WireError) -> Data {
        do {
            return try JSONEncoder().encode(value)
        } catch {
            throw .unencodable(kind: kind ?? "JSONValue", description: Self.reason(of: error))
        }
    }

    private static func reason(of error: any Error) -> String {
        if case .invalidValue(_, let context) = error as? EncodingError {
            let path = FieldPath(context.codingPath).description
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        }
        return String(describing: error)
    }
}

extension WireError {
    /// Translates a `DecodingError` raised while decoding a message (or value) of `kind`.
    init(_ error: DecodingError, kind: String) {
        switch error {
        case .keyNotFound(let key, let context):
            self = .missingField(kind: kind, field: FieldPath(context.codingPath + [key]).description)
        case .typeMismatch(let type, let context):
            self = .wrongType(kind: kind, field: FieldPath(context.codingPath).description,
                              expected: FieldPath.jsonTypeName(of: type))
        case .valueNotFound(let type, let context):
            self = .wrongType(kind: kind, field: FieldPath(context.codingPath).description,
                              expected: FieldPath.jsonTypeName(of: type) + ", not null")
        case .dataCorrupted(let context):
            self = .invalidValue(kind: kind, field: FieldPath(context.codingPath).description,
                                 description: context.debugDescription)
        @unknown default:
            self = .invalidValue(kind: kind, field: "(top level)", description: String(describing: error))
        }
    }
}
