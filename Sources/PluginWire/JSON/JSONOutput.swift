/// Appends JSON text to a byte array: literals, escaped strings, integers, spliced values.
///
/// Strings are escaped as RFC 8259 requires (`"`, `\` and control characters); clean runs are
/// found eight bytes at a time and copied whole. Whatever is appended is valid JSON when the
/// caller appends a well-formed sequence of tokens.
struct JSONOutput {
    var bytes: [UInt8]

    init(bytes: [UInt8] = []) {
        self.bytes = bytes
    }

    /// Makes room for `additional` more bytes, growing at least geometrically.
    mutating func reserve(_ additional: Int) {
        let needed = bytes.count + additional
        if bytes.capacity < needed { bytes.reserveCapacity(Swift.max(needed, bytes.capacity * 2)) }
    }

    /// Appends JSON text known at compile time (`{"kind":"emit","id":`).
    @inline(__always)
    mutating func append(_ literal: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func append(byte: UInt8) {
        bytes.append(byte)
    }

    /// Appends a validated value verbatim.
    mutating func append(_ value: RawJSON) {
        bytes.append(contentsOf: value.bytes)
    }

    mutating func append(_ value: Bool) {
        value ? append("true") : append("false")
    }

    mutating func append<Integer: BinaryInteger>(integer value: Integer) {
        if Integer.isSigned, value < 0 { bytes.append(ASCII.minus) }
        appendDigits(of: UInt64(truncatingIfNeeded: value.magnitude))
    }

    private mutating func appendDigits(of value: UInt64) {
        if value < 10 {
            bytes.append(ASCII.zero + UInt8(value))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = 20
            var rest = value
            while rest != 0 {
                position -= 1
                digits[position] = ASCII.zero + UInt8(rest % 10)
                rest /= 10
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[position...]))
        }
    }

    /// Appends a finite number in its shortest round-trip form (`2.5`, `1e+20`, `100`);
    /// `false` (and nothing appended) for NaN and infinities, which JSON cannot express.
    mutating func append(number value: some BinaryFloatingPoint & LosslessStringConvertible) -> Bool {
        guard value.isFinite else { return false }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
        return true
    }

    /// Appends `value` as a quoted, escaped JSON string.
    mutating func append(string value: String) {
        var value = value
        value.withUTF8 { appendQuoted($0) }
    }

    private mutating func appendQuoted(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(ASCII.quote)
        guard let base = utf8.baseAddress else {
            bytes.append(ASCII.quote)
            return
        }
        let count = utf8.count
        var runStart = 0
        var index = 0
        while index < count {
            index = SIMDScan.skipUnescaped(base, count: count, from: index)
            while index &+ 8 <= count, !SWAR.needsEscape(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)) {
                index &+= 8
            }
            guard index < count else { break }
            let byte = base[index]
            if byte == ASCII.quote || byte == ASCII.backslash || byte < 0x20 {
                bytes.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: index - runStart))
                appendEscape(for: byte)
                runStart = index + 1
            }
            index += 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: count - runStart))
        bytes.append(ASCII.quote)
    }

    private mutating func appendEscape(for byte: UInt8) {
        switch byte {
        case ASCII.quote: append(#"\""#)
        case ASCII.backslash: append(#"\\"#)
        case ASCII.newline: append(#"\n"#)
        case ASCII.carriageReturn: append(#"\r"#)
        case ASCII.tab: append(#"\t"#)
        case 0x08: append(#"\b"#)
        case 0x0C: append(#"\f"#)
        default:
            let hex: StaticString = "0123456789abcdef"
            append(#"\u00"#)
            bytes.append(hex.utf8Start[Int(byte >> 4)])
            bytes.append(hex.utf8Start[Int(byte & 0x0F)])
        }
    }

    /// Appends `["a","b"]`.
    mutating func append(strings values: [String]) {
        bytes.append(ASCII.openBracket)
        for (position, value) in values.enumerated() {
            if position > 0 { bytes.append(ASCII.comma) }
            append(string: value)
        }
        bytes.append(ASCII.closeBracket)
    }

    /// Appends `{"k":"v",...}` with keys in sorted order, so equal maps encode to equal bytes.
    mutating func append(stringMap values: [String: String]) {
        bytes.append(ASCII.openBrace)
        for (position, member) in values.sorted(by: { $0.key < $1.key }).enumerated() {
            if position > 0 { bytes.append(ASCII.comma) }
            append(string: member.key)
            bytes.append(ASCII.colon)
            append(string: member.value)
        }
        bytes.append(ASCII.closeBrace)
    }
}
