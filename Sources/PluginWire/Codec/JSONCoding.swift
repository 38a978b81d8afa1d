import Foundation

/// The JSON encoder/decoder pair behind ``MessageCodec`` and ``JSONValue``, with
/// Foundation's errors translated into ``WireError``.
enum JSONCoding {
    /// Decodes `type` from UTF-8 JSON, reporting failures against `kind` (or the value itself).
    static func decode<Value: Decodable>(_ type: Value.Type, from data: Data, kind: String?) throws(WireError) -> Value {
        if let offset = UTF8Validation.firstInvalidOffset(in: data) {
            throw .invalidUTF8(offset: offset)
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as WireError {
            throw error
        } catch let error as DecodingError {
            throw WireError(error, kind: kind ?? "value")
        } catch {
            throw .malformedJSON(description: String(describing: error))
        }
    }

    /// Encodes `value` as compact UTF-8 JSON.
    static func encode(_ value: some Encodable, kind: String?) throws(WireError) -> Data {
        do {
            return try JSONEncoder().encode(value)
        } catch {
            throw .unencodable(kind: kind ?? "value", description: Self.reason(of: error))
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
    /// Translates a Foundation decoding error raised while decoding a message of `kind`.
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
            if context.codingPath.isEmpty {
                let underlying = context.underlyingError.map { " (\($0))" } ?? ""
                self = .malformedJSON(description: context.debugDescription + underlying)
            } else {
                self = .invalidValue(kind: kind, field: FieldPath(context.codingPath).description,
                                     description: context.debugDescription)
            }
        @unknown default:
            self = .malformedJSON(description: String(describing: error))
        }
    }
}
