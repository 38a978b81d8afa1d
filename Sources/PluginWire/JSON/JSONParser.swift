/// A strict RFC 8259 parser over UTF-8 bytes that reports the byte offset of the first error.
///
/// Nesting is capped at ``maximumDepth`` so hostile input cannot exhaust the stack.
struct JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Parses exactly one JSON value surrounded by optional whitespace.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(WireError) -> JSONNode {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("unexpected data after the JSON value") }
        return value
    }

    private func failure(_ reason: String) -> WireError {
        .malformedJSON(offset: index, reason: reason)
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(WireError) {
        guard current == byte else { throw failure(current == nil ? "unexpected end of input, expected \(what)" : "expected \(what)") }
        index += 1
    }

    private mutating func parseValue(depth: Int) throws(WireError) -> JSONNode {
        guard let byte = current else { throw failure("unexpected end of input, expected a value") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character, expected a value")
        }
    }

    private mutating func parseLiteral(_ literal: StaticString) throws(WireError) {
        let start = index
        for expected in UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount) {
            guard current == expected else { throw failure("invalid literal, expected \(literal) starting at offset \(start)") }
            index += 1
        }
    }

    private mutating func parseObject(depth: Int) throws(WireError) -> JSONNode {
        var members: [String: JSONNode] = [:]
        try parseMembers(depth: depth, close: UInt8(ascii: "}"), name: "an object") { parser throws(WireError) in
            guard parser.current == UInt8(ascii: "\"") else { throw parser.failure("expected a string key") }
            let key = try parser.parseString()
            parser.skipWhitespace()
            try parser.expect(UInt8(ascii: ":"), "':' after an object key")
            parser.skipWhitespace()
            members[key] = try parser.parseValue(depth: depth)
        }
        return .object(members)
    }

    private mutating func parseArray(depth: Int) throws(WireError) -> JSONNode {
        var elements: [JSONNode] = []
        try parseMembers(depth: depth, close: UInt8(ascii: "]"), name: "an array") { parser throws(WireError) in
            elements.append(try parser.parseValue(depth: depth))
        }
        return .array(elements)
    }

    /// Parses `open member (, member)* close`, with the opening byte at the current index.
    private mutating func parseMembers(
        depth: Int, close: UInt8, name: String, member: (inout JSONParser) throws(WireError) -> Void
    ) throws(WireError) {
        guard depth <= Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
        index += 1
        skipWhitespace()
        if current == close {
            index += 1
            return
        }
        while true {
            try member(&self)
            skipWhitespace()
            guard current == UInt8(ascii: ",") else { break }
            index += 1
            skipWhitespace()
        }
        try expect(close, "',' or '\(Character(Unicode.Scalar(close)))' in \(name)")
    }

    private mutating func parseNumber() throws(WireError) -> JSONNode {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        if current == UInt8(ascii: "0") {
            index += 1
        } else {
            guard skipDigits() > 0 else { throw failure("expected a digit") }
        }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            index += 1
            isInteger = false
            guard skipDigits() > 0 else { throw failure("expected a digit after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            isInteger = false
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() > 0 else { throw failure("expected a digit in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        let fitsInteger = isInteger && (Int64(text) != nil || UInt64(text) != nil)
        guard fitsInteger || Double(text)?.isFinite == true else {
            index = start
            throw failure("number \(text) is out of range")
        }
        return .number(text)
    }

    private mutating func skipDigits() -> Int {
        let start = index
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    private mutating func parseString() throws(WireError) -> String {
        index += 1
        let start = index
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 { index += 1 }
        if current == UInt8(ascii: "\"") {
            index += 1
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index - 1]), as: UTF8.self)
        }
        var scratch = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: scratch, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                try parseEscape(into: &scratch)
            case 0..<0x20:
                throw failure("control character in a string must be escaped")
            default:
                scratch.append(byte)
                index += 1
            }
        }
    }

    private mutating func parseEscape(into scratch: inout [UInt8]) throws(WireError) {
        guard let byte = current else { throw failure("unterminated escape sequence") }
        index += 1
        let simple: UInt8
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): simple = byte
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            try appendUnicodeEscape(into: &scratch)
            return
        default:
            index -= 1
            throw failure("invalid escape character")
        }
        scratch.append(simple)
    }

    private mutating func appendUnicodeEscape(into scratch: inout [UInt8]) throws(WireError) {
        let escapeStart = index - 2
        var value = try parseHex4()
        if (0xD800...0xDBFF).contains(value) {
            guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                index = escapeStart
                throw failure("high surrogate escape without a following low surrogate")
            }
            index += 2
            let low = try parseHex4()
            guard (0xDC00...0xDFFF).contains(low) else {
                index = escapeStart
                throw failure("high surrogate escape followed by a non-low-surrogate")
            }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else {
            index = escapeStart
            throw failure("lone low surrogate escape")
        }
        scratch.append(contentsOf: UTF8.encode(scalar).map(Array.init) ?? [])
    }

    private mutating func parseHex4() throws(WireError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current else { throw failure("unterminated \\u escape") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("expected a hex digit in a \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
