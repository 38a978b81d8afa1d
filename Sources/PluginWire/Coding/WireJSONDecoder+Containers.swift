/// One member of an object being read. Outside the generic ``KeyedDecoder`` so that an array
/// of members is one concrete type, not a generic instantiation per key type at run time.
struct ObjectMember {
    /// The key's content bytes (between the quotes).
    let key: Range<Int>
    /// The key with escapes resolved, for keys that have any.
    let unescaped: String?
    let value: Int
}

/// An object being read: its members indexed once, looked up by key bytes.
///
/// Small objects are searched linearly (from the end, so a repeated key yields its last value,
/// as the message decoder does); large ones get a hash index, so no payload can make lookups
/// quadratic.
struct KeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    private typealias Member = ObjectMember

    private static var indexThreshold: Int { 16 }

    let input: JSONInput
    let offset: Int
    let codingPath: [any CodingKey]
    private let members: [Member]
    private let index: [String: Int]?

    init(input: JSONInput, offset: Int, codingPath: [any CodingKey]) throws {
        self.input = input
        self.offset = offset
        self.codingPath = codingPath
        members = try input.scan(at: offset) { (scanner) throws(WireError) -> [Member] in
            var members: [Member] = []
            guard scanner.enterObject() else { return members }
            repeat {
                let key = try scanner.readKey()
                members.append(Member(key: key.content, unescaped: key.escaped ? try scanner.string(key) : nil, value: scanner.index))
                try scanner.skipValue()
            } while try scanner.nextMember()
            return members
        }
        if members.count > Self.indexThreshold {
            var index: [String: Int] = [:]
            for (position, member) in members.enumerated() { index[Self.text(of: member, in: input)] = position }
            self.index = index
        } else {
            index = nil
        }
    }

    private static func text(of member: Member, in input: JSONInput) -> String {
        member.unescaped ?? String(decoding: input.bytes[member.key], as: UTF8.self)
    }

    var allKeys: [Key] { members.compactMap { Key(stringValue: Self.text(of: $0, in: input)) } }

    func contains(_ key: Key) -> Bool { valueOffset(key.stringValue) != nil }

    /// Where the value of the member called `name` starts, if the object has one.
    private func valueOffset(_ name: String) -> Int? {
        var name = name
        if let index { return index[name].map { members[$0].value } }
        return name.withUTF8 { wanted in
            input.bytes.withUnsafeBufferPointer { bytes in
                for member in members.reversed() {
                    if let unescaped = member.unescaped {
                        if unescaped.utf8.elementsEqual(wanted) { return member.value }
                    } else if member.key.count == wanted.count, UnsafeBufferPointer(rebasing: bytes[member.key]).elementsEqual(wanted) {
                        return member.value
                    }
                }
                return nil
            }
        }
    }

    private func value(_ key: Key) throws -> Int {
        guard let value = valueOffset(key.stringValue) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for key \"\(key.stringValue)\"",
                                                       underlyingError: JSONLocation(offset: offset, code: .missingField)))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { input.type(at: try value(key)) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try input.bool(at: value(key), path: codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try input.string(at: value(key), path: codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try input.double(at: value(key), path: codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try input.float(at: value(key), path: codingPath + [key]) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try input.integer(type, at: value(key), path: codingPath + [key]) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try input.integer(type, at: value(key), path: codingPath + [key]) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try input.integer(type, at: value(key), path: codingPath + [key]) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try input.integer(type, at: value(key), path: codingPath + [key]) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try input.integer(type, at: value(key), path: codingPath + [key]) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try input.integer(type, at: value(key), path: codingPath + [key]) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try input.integer(type, at: value(key), path: codingPath + [key]) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try input.integer(type, at: value(key), path: codingPath + [key]) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try input.integer(type, at: value(key), path: codingPath + [key]) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try input.integer(type, at: value(key), path: codingPath + [key]) }

    func decode<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value {
        try input.decode(type, at: value(key), path: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(input: input, offset: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(input: input, offset: value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { try superDecoder(named: SuperKey()) }

    func superDecoder(forKey key: Key) throws -> any Decoder { try superDecoder(named: key) }

    private func superDecoder(named key: some CodingKey) throws -> any Decoder {
        guard let offset = valueOffset(key.stringValue) else {
            return ValueDecoder(input: JSONInput(bytes: RawJSON.null.bytes), offset: 0, codingPath: codingPath + [key])
        }
        return ValueDecoder(input: input, offset: offset, codingPath: codingPath + [key])
    }
}

/// An array being read, element by element; an element that fails to decode is not consumed.
struct UnkeyedDecoder: UnkeyedDecodingContainer {
    let input: JSONInput
    let codingPath: [any CodingKey]
    private let offset: Int
    /// Where the next element starts (meaningless once at the end).
    private var position: Int
    private(set) var currentIndex = 0
    private(set) var isAtEnd: Bool

    init(input: JSONInput, offset: Int, codingPath: [any CodingKey]) throws {
        self.input = input
        self.offset = offset
        self.codingPath = codingPath
        let first = try input.scan(at: offset) { (scanner) throws(WireError) -> Int? in
            scanner.enterArray() ? scanner.index : nil
        }
        position = first ?? offset
        isAtEnd = first == nil
    }

    var count: Int? {
        try? input.scan(at: offset) { (scanner) throws(WireError) -> Int in
            var count = 0
            guard scanner.enterArray() else { return count }
            repeat {
                try scanner.skipValue()
                count += 1
            } while try scanner.nextElement()
            return count
        }
    }

    /// The next element's offset; fails at the end.
    private func next<Value>(_ type: Value.Type) throws -> Int {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "unkeyed container is at end",
                                                          underlyingError: JSONLocation(offset: position, code: .missingField)))
        }
        return position
    }

    /// Moves past the current element.
    private mutating func advance() throws {
        let (next, more) = try input.scan(at: position) { (scanner) throws(WireError) -> (Int, Bool) in
            try scanner.skipValue()
            let more = try scanner.nextElement()
            return (scanner.index, more)
        }
        position = next
        isAtEnd = !more
        currentIndex += 1
    }

    /// Decodes the next element with `read` (given the input, its offset and its coding path)
    /// and consumes it only if that succeeded.
    private mutating func element<Value>(
        _ type: Value.Type, _ read: (JSONInput, Int, () -> [any CodingKey]) throws -> Value
    ) throws -> Value {
        let offset = try next(type)
        let codingPath = self.codingPath
        let index = currentIndex
        let value = try read(input, offset) { codingPath + [IndexKey(index)] }
        try advance()
        return value
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, input.type(at: position) == .null else { return false }
        try advance()
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try element(type) { try $0.bool(at: $1, path: $2()) } }
    mutating func decode(_ type: String.Type) throws -> String { try element(type) { try $0.string(at: $1, path: $2()) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try element(type) { try $0.double(at: $1, path: $2()) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try element(type) { try $0.float(at: $1, path: $2()) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    private mutating func integer<Integer: FixedWidthInteger>(_ type: Integer.Type) throws -> Integer {
        try element(type) { try $0.integer(type, at: $1, path: $2()) }
    }

    mutating func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        try element(type) { try $0.decode(type, at: $1, path: $2()) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try element(KeyedDecodingContainer<NestedKey>.self) { try ValueDecoder(input: $0, offset: $1, codingPath: $2()).container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try element((any UnkeyedDecodingContainer).self) { try ValueDecoder(input: $0, offset: $1, codingPath: $2()).unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try element((any Decoder).self) { ValueDecoder(input: $0, offset: $1, codingPath: $2()) }
    }
}
