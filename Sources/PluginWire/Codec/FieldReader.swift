/// The JSON type of a validated value, told by its first byte.
enum JSONType {
    case object, array, string, number, boolean, null

    init(firstByte byte: UInt8) {
        switch byte {
        case ASCII.openBrace: self = .object
        case ASCII.openBracket: self = .array
        case ASCII.quote: self = .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): self = .boolean
        case UInt8(ascii: "n"): self = .null
        default: self = .number
        }
    }

    /// The type as the protocol document names it: `an integer` is a number read as one.
    var name: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .boolean: return "a boolean"
        case .null: return "null"
        }
    }
}

/// Typed, located reads of the members of one validated object (a message, or a failure or
/// busy object inside one): each error names the message kind, the field path and the offset.
struct FieldReader {
    let scanner: JSONScanner
    let fields: FieldTable
    /// The message kind, the subject of every error.
    let kind: WireMessage.Kind
    /// The member of the message this object is (`error`, `busy`), `nil` for the message itself.
    let parent: FieldName?
    /// The offset of the object's closing `}`, where a missing member is reported.
    let end: Int

    func path(_ name: FieldName) -> String {
        guard let parent else { return "\(name.text)" }
        return "\(parent.text).\(name.text)"
    }

    private func failure(_ code: WireError.Code, _ field: String, at offset: Int, _ reason: String) -> WireError {
        WireError(code: code, subject: kind.rawValue, field: field, offset: offset, reason: reason)
    }

    private func type(_ range: Range<Int>) -> JSONType { JSONType(firstByte: scanner.start[range.lowerBound]) }

    /// The value of a required member.
    func value(_ name: FieldName) throws(WireError) -> Range<Int> {
        guard let range = fields[name] else { throw failure(.missingField, path(name), at: end, "required field is missing") }
        return range
    }

    /// The value of an optional member; `nil` when absent or `null`.
    func optionalValue(_ name: FieldName) -> Range<Int>? {
        guard let range = fields[name], type(range) != .null else { return nil }
        return range
    }

    /// Checks the JSON type of the value at `offset`; `field` is only rendered for an error.
    private func expect(_ expected: JSONType, at offset: Int, _ field: @autoclosure () -> String, named: String? = nil) throws(WireError) {
        let found = JSONType(firstByte: scanner.start[offset])
        guard found != expected else { return }
        let wanted = named ?? expected.name
        throw failure(.wrongType, field(), at: offset, found == .null ? "must be \(wanted), not null" : "must be \(wanted)")
    }

    // MARK: Scalars

    func integer<Integer: FixedWidthInteger>(_ name: FieldName, as type: Integer.Type = Integer.self) throws(WireError) -> Integer {
        try integer(at: value(name), name)
    }

    func optionalInteger<Integer: FixedWidthInteger>(_ name: FieldName, as type: Integer.Type = Integer.self) throws(WireError) -> Integer? {
        guard let range = optionalValue(name) else { return nil }
        return try integer(at: range, name)
    }

    private func integer<Integer: FixedWidthInteger>(at range: Range<Int>, _ name: FieldName) throws(WireError) -> Integer {
        try expect(.number, at: range.lowerBound, path(name), named: "an integer")
        guard let value = JSONNumber.integer(Integer.self, scanner.start + range.lowerBound, count: range.count) else {
            let text = JSONNumber.text(scanner.start + range.lowerBound, count: range.count)
            throw failure(.outOfRange, path(name), at: range.lowerBound, "number \(Printable.truncated(text)) does not fit in \(Integer.self)")
        }
        return value
    }

    func bool(_ name: FieldName) throws(WireError) -> Bool {
        let range = try value(name)
        try expect(.boolean, at: range.lowerBound, path(name))
        return scanner.start[range.lowerBound] == UInt8(ascii: "t")
    }

    func string(_ name: FieldName) throws(WireError) -> String {
        let range = try value(name)
        try expect(.string, at: range.lowerBound, path(name))
        return try scanner.string(token(range, name))
    }

    func optionalString(_ name: FieldName) throws(WireError) -> String? {
        guard let range = optionalValue(name) else { return nil }
        try expect(.string, at: range.lowerBound, path(name))
        return try scanner.string(token(range, name))
    }

    /// The string token of a validated string value.
    private func token(_ range: Range<Int>, _ name: FieldName) -> JSONString {
        JSONString(start: range.lowerBound, end: range.upperBound, escaped: fields.isEscapedString(name))
    }

    func scope(_ name: FieldName) throws(WireError) -> Scope {
        let range = try value(name)
        try expect(.string, at: range.lowerBound, path(name))
        let token = token(range, name)
        if try scanner.string(token, equals: "session") { return .session }
        if try scanner.string(token, equals: "global") { return .global }
        let text = try scanner.string(token)
        throw failure(.invalidValue, path(name), at: range.lowerBound,
                      "\"\(Printable.truncated(text))\" is not a scope; expected \"global\" or \"session\"")
    }

    // MARK: Payloads

    /// A required JSON value, sliced out of the body as it is.
    func raw(_ name: FieldName) throws(WireError) -> RawJSON {
        slice(try value(name))
    }

    /// An optional JSON value: `nil` only when absent (a JSON `null` is ``RawJSON/null``).
    func optionalRaw(_ name: FieldName) -> RawJSON? {
        fields[name].map(slice)
    }

    private func slice(_ range: Range<Int>) -> RawJSON {
        RawJSON(unchecked: Array(UnsafeBufferPointer(start: scanner.start + range.lowerBound, count: range.count)))
    }

    // MARK: Containers

    func strings(_ name: FieldName) throws(WireError) -> [String] {
        let range = try value(name)
        try expect(.array, at: range.lowerBound, path(name))
        var elements = JSONScanner(scanner.start, count: scanner.count, index: range.lowerBound)
        var result: [String] = []
        guard elements.enterArray() else { return result }
        repeat {
            try expect(.string, at: elements.index, "\(path(name))[\(result.count)]")
            result.append(try elements.string(elements.skipString()))
        } while try elements.nextElement()
        return result
    }

    func stringMap(_ name: FieldName) throws(WireError) -> [String: String] {
        try stringMap(at: value(name), name)
    }

    func optionalStringMap(_ name: FieldName) throws(WireError) -> [String: String]? {
        guard let range = optionalValue(name) else { return nil }
        return try stringMap(at: range, name)
    }

    private func stringMap(at range: Range<Int>, _ name: FieldName) throws(WireError) -> [String: String] {
        try expect(.object, at: range.lowerBound, path(name))
        var members = JSONScanner(scanner.start, count: scanner.count, index: range.lowerBound)
        var result: [String: String] = [:]
        guard members.enterObject() else { return result }
        repeat {
            let key = try members.string(members.readKey())
            try expect(.string, at: members.index, path(name) + JSONPathLocator.segment(key, first: false))
            result[key] = try members.string(members.skipString())
        } while try members.nextMember()
        return result
    }

    /// Runs `body` with the reader of the object in member `name`; `nil` when it is absent or `null`.
    func optionalObject<Result>(_ name: FieldName, _ body: (FieldReader) throws(WireError) -> Result) throws(WireError) -> Result? {
        guard let range = optionalValue(name) else { return nil }
        try expect(.object, at: range.lowerBound, path(name))
        return try FieldTable.withTable { (table) throws(WireError) -> Result in
            var nested = JSONScanner(scanner.start, count: scanner.count, index: range.lowerBound)
            let end = try nested.readFields(into: table)
            return try body(FieldReader(scanner: scanner, fields: table, kind: kind, parent: name, end: end))
        }
    }
}
