import Foundation

/// Encodes `Encodable` values straight to JSON bytes, without an intermediate tree.
///
/// Output matches what Foundation's `JSONEncoder` with default strategies accepts and
/// produces (`Date` as seconds since 2001, `Data` as Base64, `URL` as its absolute string,
/// `Decimal` as a number; keys in the order they are encoded). ``RawJSON`` values are spliced
/// verbatim and ``JSONValue`` trees written directly.
///
/// Containers are written as they are used: a container closes when its parent writes again.
/// A container used after its parent moved on is refused with an error rather than written
/// out of place, and so is nesting deeper than ``RawJSON/maximumDepth``.
enum WireJSONEncoder {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let state = JSONEncodingState()
        if try !state.encodeSpecial(value) {
            try value.encode(to: ValueEncoder(state: state, level: 0, anchor: .shared(0)))
        }
        state.fillPendingSlot()
        guard !state.output.bytes.isEmpty else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Top-level \(type(of: value)) did not encode any values."))
        }
        state.closeContainers(above: 0)
        if let failure = state.failure { throw failure }
        if state.splicedNested {
            // A value spliced below the top may have pushed the whole past the depth limit.
            _ = try RawJSON(validating: state.output.bytes)
        }
        return state.output.bytes
    }
}

/// The one buffer and the stack of open containers every encoder and container of one
/// encoding writes through.
///
/// Its properties skip the runtime exclusivity checks (which cost more than the writes). That
/// is sound: one state serves one `WireJSONEncoder.encode` call on one thread (it is not
/// `Sendable`), and no method keeps an access to a property open across a call that could
/// reach the state again (a value's `encode(to:)` is called with no access open).
final class JSONEncodingState {
    struct Open {
        let id: Int
        let isObject: Bool
        /// The value slot that opened it (so a second request from the same encoder reuses it).
        let slot: Int
        var count = 0
    }

    @exclusivity(unchecked) var output = JSONOutput()
    @exclusivity(unchecked) var open: [Open] = []
    /// Keys of the values being encoded right now, outermost first.
    @exclusivity(unchecked) var path: [any CodingKey] = []
    @exclusivity(unchecked) var failure: EncodingError?
    @exclusivity(unchecked) var splicedNested = false
    /// A slot handed out by `superEncoder()` whose value may still be unwritten.
    @exclusivity(unchecked) var pendingSlot: Int?
    @exclusivity(unchecked) private var lastID = 0

    func nextID() -> Int {
        lastID += 1
        return lastID
    }

    /// Records the first misuse; encoding fails with it at the end.
    func fail(_ description: String, path: [any CodingKey]) {
        if failure == nil { failure = .invalidValue("", .init(codingPath: path, debugDescription: description)) }
    }

    /// Writes `{}` for a super-encoder slot that was never used, as Foundation encodes it.
    func fillPendingSlot() {
        if let start = pendingSlot, output.bytes.count == start { output.append("{}") }
        pendingSlot = nil
    }

    func closeContainers(above level: Int) {
        fillPendingSlot()
        while open.count > level {
            output.append(byte: open.removeLast().isObject ? ASCII.closeBrace : ASCII.closeBracket)
        }
    }

    /// Gets container `index` (with `id`) ready for its next member: closes what is open
    /// inside it, checks it is still open, writes the separator.
    func prepareMember(of index: Int, id: Int, path: @autoclosure () -> [any CodingKey]) throws {
        guard index >= 0, index < open.count, open[index].id == id else {
            // A container that could not be opened reports why it could not.
            throw failure ?? EncodingError.invalidValue("", .init(codingPath: path(),
                debugDescription: "a container was used after its parent container had moved on"))
        }
        closeContainers(above: index + 1)
        if open[index].count > 0 { output.append(byte: ASCII.comma) }
        open[index].count += 1
    }

    /// Opens an object or array for `slot`; `nil` (and a recorded failure) past the depth limit.
    func openContainer(isObject: Bool, slot: Int, path: @autoclosure () -> [any CodingKey]) -> Int? {
        guard open.count < RawJSON.maximumDepth else {
            fail("nesting deeper than \(RawJSON.maximumDepth) levels", path: path())
            return nil
        }
        output.append(byte: isObject ? ASCII.openBrace : ASCII.openBracket)
        open.append(Open(id: nextID(), isObject: isObject, slot: slot))
        return open.count - 1
    }

    /// Writes `value` at the current position (after its key); `anchor` is the path of the
    /// container that holds it.
    func encode<Value: Encodable>(_ value: Value, key: any CodingKey, anchor: CodingPathAnchor) throws {
        if try encodeSpecial(value, key: key) { return }
        let saved: [any CodingKey]?
        if case .shared(let count) = anchor, count == path.count {
            saved = nil
        } else {
            saved = path
            path = anchor.resolve(in: self)
        }
        path.append(key)
        defer {
            if let saved { path = saved } else { path.removeLast() }
        }
        let slot = ValueEncoder(state: self, level: open.count, anchor: .shared(path.count))
        try value.encode(to: slot)
        if output.bytes.count == slot.start { output.append("{}") }
    }

    /// A slot for a value written later through `superEncoder()`.
    func superSlot(path: [any CodingKey]) -> ValueEncoder {
        fillPendingSlot()
        let slot = ValueEncoder(state: self, level: open.count, anchor: .explicit(path))
        pendingSlot = slot.start
        return slot
    }

    /// Writes the types Foundation's `JSONEncoder` special-cases, and our own JSON types.
    /// Returns `false` for every other type.
    func encodeSpecial<Value: Encodable>(_ value: Value, key: (any CodingKey)? = nil) throws -> Bool {
        var path: [any CodingKey] { self.path + (key.map { [$0] } ?? []) }
        // Metatype comparisons first: a dynamic cast per value would cost more than the value.
        // The scalars generic containers pass most (an Array<String> passes them through the
        // generic entry) are written directly; each cast is guarded by the test before it.
        if Value.self == String.self {
            output.append(string: unsafeBitCast(value, to: String.self))
        } else if Value.self == Int.self {
            output.append(integer: unsafeBitCast(value, to: Int.self))
        } else if Value.self == Bool.self {
            output.append(unsafeBitCast(value, to: Bool.self))
        } else if Value.self == Double.self {
            try append(number: unsafeBitCast(value, to: Double.self), path: path)
        } else if Value.self == RawJSON.self, let raw = value as? RawJSON {
            if !open.isEmpty { splicedNested = true }
            output.append(raw)
        } else if Value.self == JSONValue.self, let tree = value as? JSONValue {
            do throws(WireError) {
                try tree.write(to: &output, depth: open.count)
            } catch {
                throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: error.reason))
            }
        } else if Value.self == Data.self, let data = value as? Data {
            output.append(string: data.base64EncodedString())
        } else if Value.self == URL.self, let url = value as? URL {
            output.append(string: url.absoluteString)
        } else if Value.self == Decimal.self, let decimal = value as? Decimal {
            guard decimal.isFinite else {
                throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "Unable to encode \(decimal) directly in JSON."))
            }
            output.bytes.append(contentsOf: decimal.description.utf8)
        } else {
            return false
        }
        return true
    }

    /// Appends a float, or throws as Foundation does for NaN and infinities.
    func append<Float: BinaryFloatingPoint & LosslessStringConvertible>(number value: Float, path: @autoclosure () -> [any CodingKey]) throws {
        guard output.append(number: value) else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(), debugDescription: "Unable to encode \(Float.self).\(value) directly in JSON."))
        }
    }
}

/// The encoder of one value slot: asked for a container, it opens one; asked for a single
/// value, it writes it in place.
struct ValueEncoder: Encoder, SingleValueEncodingContainer {
    let state: JSONEncodingState
    let slot: Int
    /// How many containers were open when the slot was made: its container is `open[level]`.
    let level: Int
    /// Where the slot's value starts in the output.
    let start: Int
    let anchor: CodingPathAnchor

    init(state: JSONEncodingState, level: Int, anchor: CodingPathAnchor) {
        self.state = state
        self.slot = state.nextID()
        self.level = level
        self.start = state.output.bytes.count
        self.anchor = anchor
    }

    var codingPath: [any CodingKey] { anchor.resolve(in: state) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedEncoder<Key>(state: state, at: container(isObject: true), anchor: anchor))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedEncoder(state: state, at: container(isObject: false), anchor: anchor)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    /// The slot's container, opened now or reused; `(-1, 0)` (which refuses every write) on misuse.
    private func container(isObject: Bool) -> (index: Int, id: Int) {
        if state.open.count > level, state.open[level].slot == slot, state.open[level].isObject == isObject {
            return (level, state.open[level].id)
        }
        guard state.output.bytes.count == start, state.open.count == level else {
            state.fail("this encoder already encoded a value", path: codingPath)
            return (-1, 0)
        }
        guard let index = state.openContainer(isObject: isObject, slot: slot, path: codingPath) else { return (-1, 0) }
        return (index, state.open[index].id)
    }

    /// Checks that the slot is still empty before a single value is written.
    private func claim() throws {
        guard state.output.bytes.count == start, state.open.count == level else {
            throw EncodingError.invalidValue("", .init(codingPath: codingPath, debugDescription: "this encoder already encoded a value"))
        }
    }

    func encodeNil() throws { try claim(); state.output.append("null") }
    func encode(_ value: Bool) throws { try claim(); state.output.append(value) }
    func encode(_ value: String) throws { try claim(); state.output.append(string: value) }
    func encode(_ value: Double) throws { try claim(); try state.append(number: value, path: codingPath) }
    func encode(_ value: Float) throws { try claim(); try state.append(number: value, path: codingPath) }
    func encode(_ value: Int) throws { try claim(); state.output.append(integer: value) }
    func encode(_ value: Int8) throws { try claim(); state.output.append(integer: value) }
    func encode(_ value: Int16) throws { try claim(); state.output.append(integer: value) }
    func encode(_ value: Int32) throws { try claim(); state.output.append(integer: value) }
    func encode(_ value: Int64) throws { try claim(); state.output.append(integer: value) }
    func encode(_ value: UInt) throws { try claim(); state.output.append(integer: value) }
    func encode(_ value: UInt8) throws { try claim(); state.output.append(integer: value) }
    func encode(_ value: UInt16) throws { try claim(); state.output.append(integer: value) }
    func encode(_ value: UInt32) throws { try claim(); state.output.append(integer: value) }
    func encode(_ value: UInt64) throws { try claim(); state.output.append(integer: value) }

    func encode<Value: Encodable>(_ value: Value) throws {
        try claim()
        if try state.encodeSpecial(value) { return }
        try value.encode(to: self)
        if state.output.bytes.count == start { state.output.append("{}") }
    }
}

/// Where a container's or encoder's coding path comes from: the first keys of the shared
/// path (the common case, no copy), or a path of its own (nested containers, super encoders).
enum CodingPathAnchor {
    case shared(Int)
    case explicit([any CodingKey])

    func resolve(in state: JSONEncodingState) -> [any CodingKey] {
        switch self {
        case .shared(let count): return Array(state.path.prefix(count))
        case .explicit(let path): return path
        }
    }
}
