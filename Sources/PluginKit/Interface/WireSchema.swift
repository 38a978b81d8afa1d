/// The type of a value on the wire, as an operator writes it in a JSON payload.
public indirect enum WireType: Sendable, Hashable, CustomStringConvertible {
    /// A JSON string.
    case string
    /// `true` or `false`.
    case bool
    /// A whole number.
    case integer
    /// Any number.
    case number
    /// A list of values of one type.
    case array(WireType)
    /// An object with arbitrary string keys and values of one type.
    case dictionary(WireType)
    /// An object with named fields.
    case object([WireField])
    /// One of a fixed set of strings (a `CaseIterable` string enum).
    case oneOf([String])
    /// Not learned: the type's `init(from:)` refused the recording decoder's placeholder values
    /// before asking for this.
    case unknown

    public var description: String {
        switch self {
        case .string: return "string"
        case .bool: return "bool"
        case .integer: return "int"
        case .number: return "number"
        case .array(let element): return "[\(element)]"
        case .dictionary(let value): return "{string: \(value)}"
        case .object(let fields): return "{" + fields.map(\.description).joined(separator: ", ") + "}"
        case .oneOf(let cases): return cases.map { "\"\($0)\"" }.joined(separator: "|")
        case .unknown: return "?"
        }
    }
}

/// One field of an object on the wire: its key, its type, and whether it may be left out.
public struct WireField: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The JSON key.
    public var name: String
    /// The value's type.
    public var type: WireType
    /// Whether the field may be absent (or `null`).
    public var optional: Bool

    /// Creates a field.
    public init(name: String, type: WireType, optional: Bool = false) {
        self.name = name
        self.type = type
        self.optional = optional
    }

    public var description: String { "\(name): \(type)\(optional ? "?" : "")" }

    private enum CodingKeys: String, CodingKey { case name, type, optional }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        optional = try container.decodeIfPresent(Bool.self, forKey: .optional) ?? false
        type = .unknown
    }

    /// Encodes the type as its description (`"[int]"`, `"{theme: string}"`), for people and scripts alike.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(type.description, forKey: .type)
        try container.encode(optional, forKey: .optional)
    }
}

/// Learns the shape of a `Decodable` type without a value of it: the type's `init(from:)` runs
/// against a decoder that records every key and type it is asked for and answers with
/// placeholders (empty strings, zeros, `false`, one element per list).
///
/// Synthesized `Codable` conformances are described exactly: field names, types, optionality,
/// nested objects, lists and string-keyed dictionaries; `CaseIterable` string enums list their
/// cases. A hand-written `init(from:)` that validates the placeholders (a URL, a UUID, a
/// non-empty string) stops the recording there: what it asked before is listed, the rest is not.
/// Recursive types are followed a few levels deep. Only decoding runs: no plugin, handler or
/// session is involved, so a host may describe its session plugins' wire types in the supervisor.
public enum WireSchema {
    /// The wire type of `type`.
    public static func describe<T: Decodable>(_ type: T.Type) -> WireType {
        let node = ShapeNode()
        _ = try? RecordingDecoder(node: node, depth: 0).decodeValue(type)
        return node.shape
    }

    /// The fields of `type` when it is an object on the wire (an event or request payload), else none.
    public static func fields<T: Decodable>(of type: T.Type) -> [WireField] {
        if case .object(let fields) = describe(type) { return fields }
        return []
    }
}

/// What one value's decoding asked for.
private final class ShapeNode {
    enum Kind {
        case unset
        case single(WireType)
        case keyed([(key: String, node: ShapeNode, optional: Bool)])
        case unkeyed(ShapeNode)
    }

    var kind = Kind.unset

    /// The key used to recognise a dictionary: any `CodingKey` that accepts it is not a fixed set of fields.
    static let dictionaryKey = "<key>"

    var shape: WireType {
        switch kind {
        case .unset: return .object([])
        case .single(let type): return type
        case .unkeyed(let element): return .array(element.shape)
        case .keyed(let fields):
            if fields.count == 1, fields[0].key == Self.dictionaryKey { return .dictionary(fields[0].node.shape) }
            return .object(fields.map { WireField(name: $0.key, type: $0.node.shape, optional: $0.optional) })
        }
    }

    func field(_ key: String, optional: Bool) -> ShapeNode {
        var fields: [(key: String, node: ShapeNode, optional: Bool)] = []
        if case .keyed(let existing) = kind { fields = existing }
        if let index = fields.firstIndex(where: { $0.key == key }) { return fields[index].node }
        let node = ShapeNode()
        fields.append((key, node, optional))
        kind = .keyed(fields)
        return node
    }
}

/// Thrown to stop a recursion the recorder cannot follow further.
private struct RecordingDepthExceeded: Error {}

private struct RecordingDecoder: Decoder {
    /// How deep optional and list members of recursive types are followed.
    static let depthLimit = 6

    let node: ShapeNode
    let depth: Int
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(node: ShapeNode, depth: Int) {
        self.node = node
        self.depth = depth
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if case .keyed = node.kind {} else { node.kind = .keyed([]) }
        return KeyedDecodingContainer(RecordingKeyedContainer<Key>(node: node, depth: depth))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let element: ShapeNode
        if case .unkeyed(let existing) = node.kind { element = existing } else {
            element = ShapeNode()
            node.kind = .unkeyed(element)
        }
        return RecordingUnkeyedContainer(element: element, depth: depth)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        RecordingSingleValueContainer(node: node, depth: depth)
    }

    /// Decodes a placeholder `T`, recording what its `init(from:)` asks for in `node`.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if let primitive = Self.placeholder(type, node: node) { return primitive }
        if let iterable = type as? any CaseIterable.Type, let (names, first) = Self.cases(of: iterable), let value = first as? T {
            node.kind = .single(.oneOf(names))
            return value
        }
        guard depth < Self.depthLimit * 2 else { throw RecordingDepthExceeded() }
        return try T(from: RecordingDecoder(node: node, depth: depth + 1))
    }

    private static func cases<C: CaseIterable>(of type: C.Type) -> ([String], Any)? {
        let all = Array(type.allCases)
        guard let first = all.first else { return nil }
        let names = all.map { value -> String in
            if let raw = value as? any RawRepresentable { return "\(raw.rawValue)" }
            return "\(value)"
        }
        return (names, first)
    }

    /// A placeholder for the primitive types, recording their wire type.
    static func placeholder<T>(_ type: T.Type, node: ShapeNode) -> T? {
        let value: (Any, WireType)?
        switch type {
        case is String.Type: value = ("", .string)
        case is Bool.Type: value = (false, .bool)
        case is Int.Type: value = (0 as Int, .integer)
        case is Int8.Type: value = (0 as Int8, .integer)
        case is Int16.Type: value = (0 as Int16, .integer)
        case is Int32.Type: value = (0 as Int32, .integer)
        case is Int64.Type: value = (0 as Int64, .integer)
        case is UInt.Type: value = (0 as UInt, .integer)
        case is UInt8.Type: value = (0 as UInt8, .integer)
        case is UInt16.Type: value = (0 as UInt16, .integer)
        case is UInt32.Type: value = (0 as UInt32, .integer)
        case is UInt64.Type: value = (0 as UInt64, .integer)
        case is Double.Type: value = (0 as Double, .number)
        case is Float.Type: value = (0 as Float, .number)
        default: value = nil
        }
        guard let (placeholder, wireType) = value else { return nil }
        node.kind = .single(wireType)
        return placeholder as? T
    }
}

private struct RecordingKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let node: ShapeNode
    let depth: Int
    var codingPath: [any CodingKey] { [] }

    /// A container keyed by arbitrary strings (a dictionary) is shown one placeholder key.
    var allKeys: [Key] { Key(stringValue: ShapeNode.dictionaryKey).map { [$0] } ?? [] }

    func contains(_ key: Key) -> Bool { depth < RecordingDecoder.depthLimit }

    func decodeNil(forKey key: Key) throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decode(type, key) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try decodeIfPresent(type, key) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(type as Bool.Type, key) }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try decodeIfPresent(type as Bool.Type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(type as String.Type, key) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try decodeIfPresent(type as String.Type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(type as Double.Type, key) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try decodeIfPresent(type as Double.Type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(type as Float.Type, key) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try decodeIfPresent(type as Float.Type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(type as Int.Type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try decodeIfPresent(type as Int.Type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(type as Int8.Type, key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try decodeIfPresent(type as Int8.Type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(type as Int16.Type, key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try decodeIfPresent(type as Int16.Type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(type as Int32.Type, key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try decodeIfPresent(type as Int32.Type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(type as Int64.Type, key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try decodeIfPresent(type as Int64.Type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(type as UInt.Type, key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try decodeIfPresent(type as UInt.Type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(type as UInt8.Type, key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try decodeIfPresent(type as UInt8.Type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(type as UInt16.Type, key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try decodeIfPresent(type as UInt16.Type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(type as UInt32.Type, key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try decodeIfPresent(type as UInt32.Type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(type as UInt64.Type, key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try decodeIfPresent(type as UInt64.Type, key) }

    private func decode<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
        try RecordingDecoder(node: node.field(key.stringValue, optional: false), depth: depth).decodeValue(type)
    }

    private func decodeIfPresent<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
        let field = node.field(key.stringValue, optional: true)
        guard depth < RecordingDecoder.depthLimit else { return nil }
        return try RecordingDecoder(node: field, depth: depth).decodeValue(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try RecordingDecoder(node: node.field(key.stringValue, optional: false), depth: depth + 1).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try RecordingDecoder(node: node.field(key.stringValue, optional: false), depth: depth + 1).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { RecordingDecoder(node: node, depth: depth) }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        RecordingDecoder(node: node.field(key.stringValue, optional: false), depth: depth + 1)
    }
}

private struct RecordingUnkeyedContainer: UnkeyedDecodingContainer {
    let element: ShapeNode
    let depth: Int
    var codingPath: [any CodingKey] { [] }
    private(set) var currentIndex = 0

    init(element: ShapeNode, depth: Int) {
        self.element = element
        self.depth = depth
    }

    /// One element is shown, unless recursion went deep enough.
    var count: Int? { depth < RecordingDecoder.depthLimit ? 1 : 0 }
    var isAtEnd: Bool { currentIndex >= (count ?? 0) }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeElement(type) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try decodeElement(type) }
    mutating func decode(_ type: String.Type) throws -> String { try decodeElement(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try decodeElement(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try decodeElement(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try decodeElement(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decodeElement(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decodeElement(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decodeElement(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decodeElement(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decodeElement(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeElement(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeElement(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeElement(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeElement(type) }

    private mutating func decodeElement<T: Decodable>(_ type: T.Type) throws -> T {
        currentIndex += 1
        return try RecordingDecoder(node: element, depth: depth).decodeValue(type)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        currentIndex += 1
        return try RecordingDecoder(node: element, depth: depth + 1).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        currentIndex += 1
        return try RecordingDecoder(node: element, depth: depth + 1).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        currentIndex += 1
        return RecordingDecoder(node: element, depth: depth + 1)
    }
}

private struct RecordingSingleValueContainer: SingleValueDecodingContainer {
    let node: ShapeNode
    let depth: Int
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeElement(type) }
    func decode(_ type: Bool.Type) throws -> Bool { try decodeElement(type) }
    func decode(_ type: String.Type) throws -> String { try decodeElement(type) }
    func decode(_ type: Double.Type) throws -> Double { try decodeElement(type) }
    func decode(_ type: Float.Type) throws -> Float { try decodeElement(type) }
    func decode(_ type: Int.Type) throws -> Int { try decodeElement(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeElement(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeElement(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeElement(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeElement(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeElement(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeElement(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeElement(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeElement(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeElement(type) }

    private func decodeElement<T: Decodable>(_ type: T.Type) throws -> T {
        try RecordingDecoder(node: node, depth: depth).decodeValue(type)
    }
}
