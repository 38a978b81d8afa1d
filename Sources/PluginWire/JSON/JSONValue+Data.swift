import Foundation

extension JSONValue {
    /// Parses one JSON document (for example a payload typed by a user).
    ///
    /// - Throws: ``WireError`` naming the byte offset and path of the first problem.
    public init(jsonData: Data) throws(WireError) {
        self.init(try RawJSON(validating: jsonData))
    }

    /// Converts any `Encodable` value into its JSON tree.
    ///
    /// Integers above `Int64.max` become ``double(_:)`` and may lose precision.
    ///
    /// - Throws: ``WireError/Code/unencodable`` when the value has no JSON form.
    public init(encoding value: some Encodable) throws(WireError) {
        self.init(try RawJSON(encoding: value))
    }

    /// The value as compact UTF-8 JSON text (object keys sorted).
    ///
    /// - Throws: ``WireError/Code/unencodable`` for a NaN or infinite ``double(_:)``.
    public func jsonData() throws(WireError) -> Data {
        Data(try RawJSON(self).bytes)
    }

    /// Decodes the value into a `Decodable` type, naming the failing field on error.
    public func decode<Value: Decodable>(as type: Value.Type) throws(WireError) -> Value {
        try RawJSON(self).decode(type)
    }
}
