extension RawJSON {
    /// Encodes `value` as JSON with this module's encoder (see the note on ``decode(_:)``).
    ///
    /// - Throws: ``WireError/Code/unencodable`` naming the type and the field path: a NaN or
    ///   infinite number, nesting deeper than ``maximumDepth``, a value that encodes nothing, or
    ///   an error the value's own `encode(to:)` threw.
    public init(encoding value: some Encodable) throws(WireError) {
        var subject: String { String(describing: type(of: value)) }
        do {
            self.init(unchecked: try WireJSONEncoder.encode(value))
        } catch let error as WireError {
            throw WireError(code: .unencodable, subject: subject, field: error.field, reason: error.reason)
        } catch let error as EncodingError {
            guard case .invalidValue(_, let context) = error else {
                throw WireError(code: .unencodable, subject: subject, reason: String(describing: error))
            }
            throw WireError(code: .unencodable, subject: subject, field: FieldPath(context.codingPath).description,
                            reason: context.debugDescription)
        } catch {
            throw WireError(code: .unencodable, subject: subject, reason: String(describing: error))
        }
    }

    /// Decodes the value as `Value`.
    ///
    /// The encoder and decoder behind ``init(encoding:)`` and this method write and read the
    /// bytes directly, and agree with Foundation's `JSONEncoder`/`JSONDecoder` with default
    /// strategies both ways: `Date` as seconds since 2001-01-01, `Data` as Base64, `URL` as a
    /// string, `Decimal` as a number. Integers are read exactly (`1e3` and `2.0` are integers,
    /// `1.5` is not); unknown keys are ignored; a repeated key yields its last value.
    ///
    /// - Throws: ``WireError`` naming the type, the field path and the byte offset: a missing
    ///   field, a wrong type, a number out of range, an invalid value, or an error the type's own
    ///   `init(from:)` threw.
    ///
    /// A recursive type is decoded one `init(from:)` per nesting level, as with Foundation: the
    /// deepest value (``maximumDepth`` levels) needs about 1 MiB of stack, which Swift's
    /// cooperative pool threads have; do not decode untrusted recursive types on small threads.
    public func decode<Value: Decodable>(_ type: Value.Type) throws(WireError) -> Value {
        var subject: String { String(describing: type) }
        do {
            return try WireJSONDecoder.decode(type, from: self)
        } catch let error as WireError {
            throw error
        } catch let error as DecodingError {
            throw WireError(error, subject: subject)
        } catch {
            throw WireError(code: .invalidValue, subject: subject, reason: String(describing: error))
        }
    }
}

extension RawJSON: Codable {
    /// Reads any JSON value; with this module's decoder the bytes are taken as they are.
    public init(from decoder: any Decoder) throws {
        if let ours = decoder as? ValueDecoder {
            self = try ours.input.decode(RawJSON.self, at: ours.offset, path: ours.codingPath)
        } else {
            self = try RawJSON(JSONValue(from: decoder))
        }
    }

    /// Writes the value; with this module's encoder the bytes are spliced verbatim.
    public func encode(to encoder: any Encoder) throws {
        if let ours = encoder as? ValueEncoder {
            try ours.encode(self)
        } else {
            try JSONValue(self).encode(to: encoder)
        }
    }
}

extension WireError {
    /// Translates a `DecodingError` raised while decoding `subject`, with the byte offset when known.
    init(_ error: DecodingError, subject: String) {
        let (code, context, reason): (Code, DecodingError.Context, String)
        switch error {
        case .keyNotFound(let key, let context):
            let path = context.codingPath + [key]
            self.init(code: .missingField, subject: subject, field: FieldPath(path).description,
                      offset: (context.underlyingError as? JSONLocation)?.offset, reason: "required field is missing")
            return
        case .typeMismatch(let type, let mismatch):
            (code, context, reason) = (.wrongType, mismatch, "must be \(FieldPath.jsonTypeName(of: type)), \(mismatch.debugDescription)")
        case .valueNotFound(let type, let missing):
            (code, context, reason) = (.wrongType, missing, "must be \(FieldPath.jsonTypeName(of: type)), not null")
        case .dataCorrupted(let corrupted):
            let location = corrupted.underlyingError as? JSONLocation
            (code, context, reason) = (location?.code ?? .invalidValue, corrupted, corrupted.debugDescription)
        @unknown default:
            self.init(code: .invalidValue, subject: subject, reason: String(describing: error))
            return
        }
        self.init(code: code, subject: subject, field: FieldPath(context.codingPath).description,
                  offset: (context.underlyingError as? JSONLocation)?.offset, reason: reason)
    }
}
