import Foundation

extension JSONValue {
    /// Parses one JSON document (for example an encoded event payload).
    ///
    /// - Throws: ``WireError/invalidUTF8(offset:)`` or ``WireError/malformedJSON(offset:reason:)``.
    public init(jsonData: Data) throws(WireError) {
        self = JSONValue(try JSONCoding.parse(jsonData))
    }

    /// Converts any `Encodable` value into its JSON tree.
    ///
    /// Integers above `Int64.max` become ``double(_:)`` and may lose precision.
    ///
    /// - Throws: ``WireError/unencodable(kind:description:)`` when the value has no JSON form.
    public init(encoding value: some Encodable) throws(WireError) {
        let data = try JSONCoding.encode(value, kind: String(describing: type(of: value)))
        try self.init(jsonData: data)
    }

    /// The value as UTF-8 JSON text, as the runtime's `emitEncoded(name:payload:)` expects.
    ///
    /// - Throws: ``WireError/unencodable(kind:description:)`` for a NaN or infinite ``double(_:)``.
    public func jsonData() throws(WireError) -> Data {
        try JSONCoding.encode(self, kind: "JSONValue")
    }

    /// Decodes the value into a `Decodable` type, naming the failing field on error.
    public func decode<Value: Decodable>(as type: Value.Type) throws(WireError) -> Value {
        try JSONCoding.decode(type, from: node, kind: String(describing: type))
    }
}
