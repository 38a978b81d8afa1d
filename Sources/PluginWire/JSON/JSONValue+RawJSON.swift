extension JSONValue {
    /// The tree of a validated JSON value.
    ///
    /// Integral numbers that fit in `Int64` (`3`, `1e3`, `2.0`) become ``int(_:)``, every other
    /// number ``double(_:)``; duplicate object keys keep the last value.
    ///
    /// The tree is built recursively, one level per nesting level: the deepest value
    /// (``RawJSON/maximumDepth`` levels) needs about 350 KiB of stack.
    public init(_ raw: RawJSON) {
        // A RawJSON is validated, so reading it cannot fail.
        self = raw.withUnsafeBytes { buffer in
            (try? JSONScanner.scanning(buffer) { (scanner) throws(WireError) in try JSONValue.read(&scanner) }) ?? .null
        }
    }

    /// Reads the value at the scanner's index; recursion is bounded by ``RawJSON/maximumDepth``.
    static func read(_ scanner: inout JSONScanner) throws(WireError) -> JSONValue {
        let start = scanner.index
        switch JSONType(firstByte: scanner.start[start]) {
        case .object:
            var members: [String: JSONValue] = [:]
            guard scanner.enterObject() else { return .object(members) }
            repeat {
                let key = try scanner.string(scanner.readKey())
                members[key] = try read(&scanner)
            } while try scanner.nextMember()
            return .object(members)
        case .array:
            var elements: [JSONValue] = []
            guard scanner.enterArray() else { return .array(elements) }
            repeat {
                elements.append(try read(&scanner))
            } while try scanner.nextElement()
            return .array(elements)
        case .string:
            return .string(try scanner.string(scanner.skipString()))
        case .boolean, .null:
            try scanner.skipValue()
            return scanner.start[start] == UInt8(ascii: "n") ? .null : .bool(scanner.start[start] == UInt8(ascii: "t"))
        case .number:
            try scanner.skipNumber()
            let digits = scanner.start + start
            let count = scanner.index - start
            if let integer = JSONNumber.integer(Int64.self, digits, count: count) { return .int(integer) }
            return .double(JSONNumber.double(digits, count: count) ?? .nan)
        }
    }

    /// Appends the value as JSON (object keys sorted), `depth` levels deep in what is being written.
    func write(to output: inout JSONOutput, depth: Int) throws(WireError) {
        switch self {
        case .null: output.append("null")
        case .bool(let value): output.append(value)
        case .int(let value): output.append(integer: value)
        case .double(let value):
            guard output.append(number: value) else {
                throw WireError(code: .unencodable, reason: "\(value) has no JSON form")
            }
        case .string(let value): output.append(string: value)
        case .array(let elements):
            try Self.checkDepth(depth)
            output.append(byte: ASCII.openBracket)
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(byte: ASCII.comma) }
                do throws(WireError) {
                    try element.write(to: &output, depth: depth + 1)
                } catch {
                    throw error.located(subject: error.subject, field: "[\(position)]" + error.field)
                }
            }
            output.append(byte: ASCII.closeBracket)
        case .object(let members):
            try Self.checkDepth(depth)
            output.append(byte: ASCII.openBrace)
            for (position, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if position > 0 { output.append(byte: ASCII.comma) }
                output.append(string: member.key)
                output.append(byte: ASCII.colon)
                do throws(WireError) {
                    try member.value.write(to: &output, depth: depth + 1)
                } catch {
                    let inner = error.field.isEmpty || error.field.hasPrefix("[") ? error.field : "." + error.field
                    throw error.located(subject: error.subject, field: JSONPathLocator.segment(member.key, first: true) + inner)
                }
            }
            output.append(byte: ASCII.closeBrace)
        }
    }

    private static func checkDepth(_ depth: Int) throws(WireError) {
        guard depth < RawJSON.maximumDepth else {
            throw WireError(code: .unencodable, reason: "nesting deeper than \(RawJSON.maximumDepth) levels")
        }
    }
}

extension RawJSON {
    /// The JSON text of `value` (object keys sorted, so equal trees give equal bytes).
    ///
    /// - Throws: ``WireError/Code/unencodable`` for a NaN or infinite number, or nesting deeper
    ///   than ``maximumDepth``, naming the path.
    public init(_ value: JSONValue) throws(WireError) {
        var output = JSONOutput()
        do throws(WireError) {
            try value.write(to: &output, depth: 0)
        } catch {
            throw error.located(subject: "JSONValue", field: error.field)
        }
        self.init(unchecked: output.bytes)
    }
}
