/// Where a keyed or unkeyed encoder writes: its place in the state's stack of open containers.
struct OpenContainer {
    let state: JSONEncodingState
    /// Its position in the stack (-1 when it could not be opened, which refuses every write).
    let index: Int
    let id: Int
    let anchor: CodingPathAnchor

    init(state: JSONEncodingState, at position: (index: Int, id: Int), anchor: CodingPathAnchor) {
        self.state = state
        self.index = position.index
        self.id = position.id
        self.anchor = anchor
    }

    var codingPath: [any CodingKey] { anchor.resolve(in: state) }

    /// Readies the container for the member or element `key`: closes what is open inside it,
    /// writes the separator.
    func prepare(_ key: some CodingKey) throws {
        try state.prepareMember(of: index, id: id, path: codingPath + [key])
    }

    /// Writes `"key":` (after the separator).
    func writeKey(_ key: some CodingKey) {
        state.output.append(string: key.stringValue)
        state.output.append(byte: ASCII.colon)
    }

    /// Opens a container as the member or element `key` (writing `"key":` when `keyed`).
    func nested(isObject: Bool, _ key: some CodingKey, keyed: Bool) -> (index: Int, id: Int) {
        do {
            try prepare(key)
        } catch {
            state.fail("a container was used after its parent container had moved on", path: codingPath + [key])
            return (-1, 0)
        }
        if keyed { writeKey(key) }
        guard let nested = state.openContainer(isObject: isObject, slot: state.nextID(), path: codingPath + [key]) else { return (-1, 0) }
        return (nested, state.open[nested].id)
    }

    /// A slot for the member or element `key`, written through `superEncoder()` later.
    func superEncoder(_ key: some CodingKey, keyed: Bool) -> any Encoder {
        do {
            try prepare(key)
        } catch {
            state.fail("a container was used after its parent container had moved on", path: codingPath + [key])
        }
        if keyed { writeKey(key) }
        return state.superSlot(path: codingPath + [key])
    }
}

/// An object being written: each `encode(_:forKey:)` appends one member.
struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let container: OpenContainer

    init(state: JSONEncodingState, at position: (index: Int, id: Int), anchor: CodingPathAnchor) {
        container = OpenContainer(state: state, at: position, anchor: anchor)
    }

    private var state: JSONEncodingState { container.state }
    var codingPath: [any CodingKey] { container.codingPath }

    /// Writes the separator and `"key":`.
    private func member(_ key: Key) throws {
        try container.prepare(key)
        container.writeKey(key)
    }

    mutating func encodeNil(forKey key: Key) throws { try member(key); state.output.append("null") }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try member(key); state.output.append(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { try member(key); state.output.append(string: value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try member(key); try state.append(number: value, path: codingPath + [key]) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try member(key); try state.append(number: value, path: codingPath + [key]) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try member(key); state.output.append(integer: value) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try member(key); state.output.append(integer: value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try member(key); state.output.append(integer: value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try member(key); state.output.append(integer: value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try member(key); state.output.append(integer: value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try member(key); state.output.append(integer: value) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try member(key); state.output.append(integer: value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try member(key); state.output.append(integer: value) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try member(key); state.output.append(integer: value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try member(key); state.output.append(integer: value) }

    mutating func encode<Value: Encodable>(_ value: Value, forKey key: Key) throws {
        try member(key)
        try state.encode(value, key: key, anchor: container.anchor)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(KeyedEncoder<NestedKey>(
            state: state, at: container.nested(isObject: true, key, keyed: true), anchor: .explicit(codingPath + [key])))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        UnkeyedEncoder(state: state, at: container.nested(isObject: false, key, keyed: true), anchor: .explicit(codingPath + [key]))
    }

    mutating func superEncoder() -> any Encoder { container.superEncoder(SuperKey(), keyed: true) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { container.superEncoder(key, keyed: true) }
}

/// An array being written: each `encode(_:)` appends one element.
struct UnkeyedEncoder: UnkeyedEncodingContainer {
    let container: OpenContainer

    init(state: JSONEncodingState, at position: (index: Int, id: Int), anchor: CodingPathAnchor) {
        container = OpenContainer(state: state, at: position, anchor: anchor)
    }

    private var state: JSONEncodingState { container.state }
    var codingPath: [any CodingKey] { container.codingPath }

    var count: Int {
        let (index, id) = (container.index, container.id)
        return index >= 0 && index < state.open.count && state.open[index].id == id ? state.open[index].count : 0
    }

    /// Writes the separator; returns the key of the new element.
    private func element() throws -> IndexKey {
        let key = IndexKey(count)
        try container.prepare(key)
        return key
    }

    mutating func encodeNil() throws { _ = try element(); state.output.append("null") }
    mutating func encode(_ value: Bool) throws { _ = try element(); state.output.append(value) }
    mutating func encode(_ value: String) throws { _ = try element(); state.output.append(string: value) }
    mutating func encode(_ value: Double) throws { let key = try element(); try state.append(number: value, path: codingPath + [key]) }
    mutating func encode(_ value: Float) throws { let key = try element(); try state.append(number: value, path: codingPath + [key]) }
    mutating func encode(_ value: Int) throws { _ = try element(); state.output.append(integer: value) }
    mutating func encode(_ value: Int8) throws { _ = try element(); state.output.append(integer: value) }
    mutating func encode(_ value: Int16) throws { _ = try element(); state.output.append(integer: value) }
    mutating func encode(_ value: Int32) throws { _ = try element(); state.output.append(integer: value) }
    mutating func encode(_ value: Int64) throws { _ = try element(); state.output.append(integer: value) }
    mutating func encode(_ value: UInt) throws { _ = try element(); state.output.append(integer: value) }
    mutating func encode(_ value: UInt8) throws { _ = try element(); state.output.append(integer: value) }
    mutating func encode(_ value: UInt16) throws { _ = try element(); state.output.append(integer: value) }
    mutating func encode(_ value: UInt32) throws { _ = try element(); state.output.append(integer: value) }
    mutating func encode(_ value: UInt64) throws { _ = try element(); state.output.append(integer: value) }

    mutating func encode<Value: Encodable>(_ value: Value) throws {
        let key = try element()
        try state.encode(value, key: key, anchor: container.anchor)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let key = IndexKey(count)
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(
            state: state, at: container.nested(isObject: true, key, keyed: false), anchor: .explicit(codingPath + [key])))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let key = IndexKey(count)
        return UnkeyedEncoder(state: state, at: container.nested(isObject: false, key, keyed: false), anchor: .explicit(codingPath + [key]))
    }

    mutating func superEncoder() -> any Encoder { container.superEncoder(IndexKey(count), keyed: false) }
}
