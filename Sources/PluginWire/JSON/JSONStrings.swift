/// Backslash escapes inside JSON strings: validating them and turning them into scalars.
enum JSONEscape {
    /// Decodes the escape whose backslash is at `index`: the scalar it stands for and how many
    /// bytes it spans (`\n` 2, `\u00e9` 6, a surrogate pair 12).
    ///
    /// Lone or mismatched surrogates are errors reported at the escape's backslash.
    static func decode(_ start: UnsafePointer<UInt8>, count: Int, at index: Int) throws(WireError) -> (scalar: Unicode.Scalar, length: Int) {
        guard index + 1 < count else { throw .malformed(index + 1, "unterminated escape sequence") }
        switch start[index + 1] {
        case ASCII.quote: return ("\"", 2)
        case ASCII.backslash: return ("\\", 2)
        case ASCII.slash: return ("/", 2)
        case UInt8(ascii: "b"): return ("\u{08}", 2)
        case UInt8(ascii: "f"): return ("\u{0C}", 2)
        case UInt8(ascii: "n"): return ("\n", 2)
        case UInt8(ascii: "r"): return ("\r", 2)
        case UInt8(ascii: "t"): return ("\t", 2)
        case UInt8(ascii: "u"): break
        default: throw .malformed(index + 1, "invalid escape character")
        }
        let high = try hex4(start, count: count, at: index + 2)
        if (0xDC00...0xDFFF).contains(high) { throw .malformed(index, "lone low surrogate escape") }
        guard (0xD800...0xDBFF).contains(high) else {
            // Not a surrogate, so always a valid scalar.
            return (Unicode.Scalar(high) ?? "\u{FFFD}", 6)
        }
        guard index + 7 < count, start[index + 6] == ASCII.backslash, start[index + 7] == UInt8(ascii: "u") else {
            throw .malformed(index, "high surrogate escape without a following low surrogate")
        }
        let low = try hex4(start, count: count, at: index + 8)
        guard (0xDC00...0xDFFF).contains(low) else {
            throw .malformed(index, "high surrogate escape followed by a non-low-surrogate")
        }
        return (Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)) ?? "\u{FFFD}", 12)
    }

    private static func hex4(_ start: UnsafePointer<UInt8>, count: Int, at index: Int) throws(WireError) -> UInt32 {
        var value: UInt32 = 0
        for offset in index..<(index + 4) {
            guard offset < count else { throw .malformed(offset, "unterminated \\u escape") }
            let byte = start[offset]
            let digit: UInt8
            switch byte {
            case ASCII.zero...ASCII.nine: digit = byte - ASCII.zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .malformed(offset, "expected a hex digit in a \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}

extension JSONScanner {
    /// The content of a validated string token as a Swift `String`, escapes resolved.
    func string(_ token: JSONString) throws(WireError) -> String {
        let content = token.content
        guard token.escaped else {
            return String(decoding: UnsafeBufferPointer(start: start + content.lowerBound, count: content.count), as: UTF8.self)
        }
        // Unescaping never lengthens: every escape is at least as long as the UTF-8 it stands for.
        var failure: WireError?
        let text = String(unsafeUninitializedCapacity: content.count) { output in
            var written = 0
            var index = content.lowerBound
            while index < content.upperBound {
                let byte = start[index]
                guard byte == ASCII.backslash else {
                    output[written] = byte
                    written += 1
                    index += 1
                    continue
                }
                do throws(WireError) {
                    let (scalar, length) = try JSONEscape.decode(start, count: count, at: index)
                    if let encoded = UTF8.encode(scalar) {
                        for unit in encoded {
                            output[written] = unit
                            written += 1
                        }
                    }
                    index += length
                } catch {
                    failure = error
                    return 0
                }
            }
            return written
        }
        if let failure { throw failure }
        return text
    }

    /// Whether the content of a string token equals `text` byte for byte (escapes resolved).
    func string(_ token: JSONString, equals text: StaticString) throws(WireError) -> Bool {
        if token.escaped {
            let expected = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
            return try string(token).utf8.elementsEqual(expected)
        }
        return Bytes.equal(start + token.content.lowerBound, count: token.content.count, text)
    }
}
