/// Every member name a message object, a failure object or a busy object may carry.
///
/// Keys are matched against these names byte for byte; no `String` is made for a key.
enum FieldName: UInt8, CaseIterable {
    case kind, protocolVersion, pid, plugins, build, sessionID, settings, globalPlugins
    case maximumFrameLength, heartbeatIntervalMilliseconds, maximumInFlight, enabledPlugins, attachedPlugins
    case id, scope, event, identifier, payload, handled, stopped, error, name, optional, timeoutMilliseconds
    case attached, detached, changed, busy, level, message, metadata, reason, code, details, plugin, sinceMilliseconds
    case unknownReferences

    /// The member name on the wire.
    var text: StaticString {
        switch self {
        case .kind: return "kind"
        case .protocolVersion: return "protocolVersion"
        case .pid: return "pid"
        case .plugins: return "plugins"
        case .build: return "build"
        case .sessionID: return "sessionID"
        case .settings: return "settings"
        case .globalPlugins: return "globalPlugins"
        case .maximumFrameLength: return "maximumFrameLength"
        case .heartbeatIntervalMilliseconds: return "heartbeatIntervalMilliseconds"
        case .maximumInFlight: return "maximumInFlight"
        case .enabledPlugins: return "enabledPlugins"
        case .attachedPlugins: return "attachedPlugins"
        case .id: return "id"
        case .scope: return "scope"
        case .event: return "event"
        case .identifier: return "identifier"
        case .payload: return "payload"
        case .handled: return "handled"
        case .stopped: return "stopped"
        case .error: return "error"
        case .name: return "name"
        case .optional: return "optional"
        case .timeoutMilliseconds: return "timeoutMilliseconds"
        case .attached: return "attached"
        case .detached: return "detached"
        case .changed: return "changed"
        case .busy: return "busy"
        case .level: return "level"
        case .message: return "message"
        case .metadata: return "metadata"
        case .reason: return "reason"
        case .code: return "code"
        case .details: return "details"
        case .plugin: return "plugin"
        case .sinceMilliseconds: return "sinceMilliseconds"
        case .unknownReferences: return "unknownReferences"
        }
    }

    /// The name spelled by `count` bytes at `bytes`, if any: candidates by length, then bytes.
    static func matching(_ bytes: UnsafePointer<UInt8>, count: Int) -> FieldName? {
        switch count {
        case 2: return test(bytes, count, .id)
        case 3: return test(bytes, count, .pid)
        case 4: return test(bytes, count, .kind) ?? test(bytes, count, .name) ?? test(bytes, count, .code) ?? test(bytes, count, .busy)
        case 5:
            return test(bytes, count, .scope) ?? test(bytes, count, .event) ?? test(bytes, count, .error) ?? test(bytes, count, .build)
                ?? test(bytes, count, .level)
        case 6: return test(bytes, count, .reason) ?? test(bytes, count, .plugin)
        case 7:
            return test(bytes, count, .payload) ?? test(bytes, count, .handled) ?? test(bytes, count, .stopped) ?? test(bytes, count, .plugins)
                ?? test(bytes, count, .message) ?? test(bytes, count, .details) ?? test(bytes, count, .changed)
        case 8:
            return test(bytes, count, .settings) ?? test(bytes, count, .optional) ?? test(bytes, count, .metadata)
                ?? test(bytes, count, .attached) ?? test(bytes, count, .detached)
        case 9: return test(bytes, count, .sessionID)
        case 10: return test(bytes, count, .identifier)
        case 13: return test(bytes, count, .globalPlugins)
        case 14: return test(bytes, count, .enabledPlugins)
        case 15: return test(bytes, count, .protocolVersion) ?? test(bytes, count, .maximumInFlight) ?? test(bytes, count, .attachedPlugins)
        case 17: return test(bytes, count, .sinceMilliseconds) ?? test(bytes, count, .unknownReferences)
        case 18: return test(bytes, count, .maximumFrameLength)
        case 19: return test(bytes, count, .timeoutMilliseconds)
        case 29: return test(bytes, count, .heartbeatIntervalMilliseconds)
        default: return nil
        }
    }

    @inline(__always)
    private static func test(_ bytes: UnsafePointer<UInt8>, _ count: Int, _ name: FieldName) -> FieldName? {
        Bytes.equal(bytes, name.text.utf8Start, count: count) ? name : nil
    }
}

/// Where each known member's value lies in the body: one slot per ``FieldName``, in a stack
/// buffer that lives for the duration of ``withTable(_:)``, and a bit per name saying which
/// slots hold a value (so the slots need no clearing).
struct FieldTable {
    /// Per name `escaped << 63 | start << 32 | end`, valid where `present` has the name's bit.
    /// Offsets fit: a body is shorter than 2 GiB (``MessageDecoder``).
    private let slots: UnsafeMutablePointer<UInt64>
    private let present: UnsafeMutablePointer<UInt64>

    /// Runs `body` with an empty table.
    static func withTable<Result>(_ body: (FieldTable) throws(WireError) -> Result) throws(WireError) -> Result {
        try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: FieldName.allCases.count + 1) { (buffer) throws(WireError) -> Result in
            guard let slots = buffer.baseAddress else { preconditionFailure("a temporary allocation of \(buffer.count) slots has an address") }
            let present = slots + FieldName.allCases.count
            present.initialize(to: 0)
            return try body(FieldTable(slots: slots, present: present))
        }
    }

    @inline(__always)
    private func span(_ name: FieldName) -> UInt64? {
        present.pointee & (1 << UInt64(name.rawValue)) != 0 ? slots[Int(name.rawValue)] : nil
    }

    subscript(name: FieldName) -> Range<Int>? {
        span(name).map { Int($0 >> 32 & 0x7FFF_FFFF)..<Int($0 & 0xFFFF_FFFF) }
    }

    /// Whether the member's value is a string with escapes.
    func isEscapedString(_ name: FieldName) -> Bool { (span(name) ?? 0) >> 63 != 0 }

    func record(_ name: FieldName, _ range: Range<Int>, escaped: Bool) {
        (slots + Int(name.rawValue)).initialize(to: (escaped ? 1 << 63 : 0) | UInt64(range.lowerBound) << 32 | UInt64(range.upperBound))
        present.pointee |= 1 << UInt64(name.rawValue)
    }
}

extension JSONScanner {
    /// Reads the object at `{`, validating every member, and records where the value of each
    /// known member lies (a repeated member: the last one wins). Returns the offset of its `}`.
    ///
    /// Offsets must fit in 31 bits (a frame body does).
    mutating func readFields(into table: FieldTable) throws(WireError) -> Int {
        guard enterObject() else { return index - 1 }
        repeat {
            let key = try readKey()
            let valueStart = index
            let escaped = try skipValue()
            if let name = try fieldName(key) { table.record(name, valueStart..<index, escaped: escaped) }
        } while try nextMember()
        return index - 1
    }

    private func fieldName(_ key: JSONString) throws(WireError) -> FieldName? {
        guard key.escaped else { return FieldName.matching(start + key.content.lowerBound, count: key.content.count) }
        var text = try string(key)
        return text.withUTF8 { utf8 in utf8.baseAddress.flatMap { FieldName.matching($0, count: utf8.count) } }
    }
}
