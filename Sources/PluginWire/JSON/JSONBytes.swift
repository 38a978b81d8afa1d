/// The bytes JSON gives meaning to.
enum ASCII {
    static let tab: UInt8 = 0x09
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let colon: UInt8 = 0x3A
    static let openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D

    static func isDigit(_ byte: UInt8) -> Bool { byte &- zero < 10 }
}

/// Byte comparison for short runs (keys, kinds), eight bytes at a time.
enum Bytes {
    @inline(__always)
    static func equal(_ left: UnsafePointer<UInt8>, _ right: UnsafePointer<UInt8>, count: Int) -> Bool {
        var index = 0
        while index &+ 8 <= count {
            guard UnsafeRawPointer(left + index).loadUnaligned(as: UInt64.self)
                == UnsafeRawPointer(right + index).loadUnaligned(as: UInt64.self) else { return false }
            index &+= 8
        }
        while index < count {
            guard left[index] == right[index] else { return false }
            index &+= 1
        }
        return true
    }

    /// Whether `count` bytes at `bytes` spell `text`.
    @inline(__always)
    static func equal(_ bytes: UnsafePointer<UInt8>, count: Int, _ text: StaticString) -> Bool {
        count == text.utf8CodeUnitCount && equal(bytes, text.utf8Start, count: count)
    }
}

/// Eight bytes at a time: the tests that let string scanning and escaping skip clean runs.
enum SWAR {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether any byte of `word` is zero.
    @inline(__always)
    static func hasZeroByte(_ word: UInt64) -> Bool {
        (word &- ones) & ~word & highBits != 0
    }

    /// Whether any byte of `word` is `"`, `\` or a control character (below 0x20).
    @inline(__always)
    static func needsEscape(_ word: UInt64) -> Bool {
        let controls = (word &- ones &* 0x20) & ~word & highBits
        return controls != 0 || hasZeroByte(word ^ (ones &* 0x22)) || hasZeroByte(word ^ (ones &* 0x5C))
    }

    /// Whether all eight bytes are ASCII that a JSON string holds verbatim.
    @inline(__always)
    static func isPlainASCII(_ word: UInt64) -> Bool {
        word & highBits == 0 && !needsEscape(word)
    }
}

/// Sixteen bytes at a time with SSE2-sized vectors, four vectors per step: the long-run
/// scans of strings (validation and escaping), where payload text spends its time.
///
/// The mask is tested by reinterpreting it as two words: the standard library's `any(_:)` is a
/// generic reduction and would cost more than the comparisons.
enum SIMDScan {
    private typealias Block = SIMD16<UInt8>
    private typealias Mask = SIMDMask<SIMD16<Int8>>

    @inline(__always)
    private static func isSet(_ mask: Mask) -> Bool {
        let words = unsafeBitCast(mask, to: SIMD2<UInt64>.self)
        return words[0] | words[1] != 0
    }

    /// Bytes a JSON string cannot hold verbatim, or that need UTF-8 validation: `"`, `\`,
    /// controls, non-ASCII. (`v - 0x20 >= 0x60` catches controls and non-ASCII at once.)
    @inline(__always)
    private static func special(_ block: Block) -> Mask {
        ((block &- Block(repeating: 0x20)) .>= Block(repeating: 0x60)) .| (block .== Block(repeating: ASCII.quote))
            .| (block .== Block(repeating: ASCII.backslash))
    }

    /// Bytes an encoder must escape: `"`, `\`, controls.
    @inline(__always)
    private static func escaped(_ block: Block) -> Mask {
        (block .< Block(repeating: 0x20)) .| (block .== Block(repeating: ASCII.quote)) .| (block .== Block(repeating: ASCII.backslash))
    }

    /// The position in the 16 bytes at `start` of the first byte a string cannot hold
    /// verbatim or that needs validation (16 when there is none).
    @inline(__always)
    static func firstSpecial(in start: UnsafePointer<UInt8>) -> Int {
        let words = unsafeBitCast(special(UnsafeRawPointer(start).loadUnaligned(as: Block.self)), to: SIMD2<UInt64>.self)
        if words[0] != 0 { return words[0].trailingZeroBitCount >> 3 }
        return 8 &+ words[1].trailingZeroBitCount >> 3
    }

    /// Moves `index` over whole blocks of plain ASCII string content.
    @inline(__always)
    static func skipPlainASCII(_ start: UnsafePointer<UInt8>, count: Int, from index: Int) -> Int {
        skip(start, count: count, from: index, special)
    }

    /// Moves `index` over whole blocks that need no escaping.
    @inline(__always)
    static func skipUnescaped(_ start: UnsafePointer<UInt8>, count: Int, from index: Int) -> Int {
        skip(start, count: count, from: index, escaped)
    }

    /// The index of the first byte at or after `index` that `test` flags, as far as whole
    /// blocks reach: a flagged byte is found by the trailing zeros of its block's mask, so a
    /// short string costs one block; a long clean run costs one test per 64 bytes.
    @inline(__always)
    private static func skip(_ start: UnsafePointer<UInt8>, count: Int, from index: Int, _ test: (Block) -> Mask) -> Int {
        var index = index
        while index &+ 16 <= count {
            let raw = UnsafeRawPointer(start + index)
            let words = unsafeBitCast(test(raw.loadUnaligned(as: Block.self)), to: SIMD2<UInt64>.self)
            if words[0] != 0 { return index &+ words[0].trailingZeroBitCount >> 3 }
            if words[1] != 0 { return index &+ 8 &+ words[1].trailingZeroBitCount >> 3 }
            index &+= 16
            while index &+ 64 <= count {
                let raw = UnsafeRawPointer(start + index)
                let mask = test(raw.loadUnaligned(as: Block.self)) .| test(raw.loadUnaligned(fromByteOffset: 16, as: Block.self))
                    .| test(raw.loadUnaligned(fromByteOffset: 32, as: Block.self)) .| test(raw.loadUnaligned(fromByteOffset: 48, as: Block.self))
                if isSet(mask) { break }
                index &+= 64
            }
        }
        return index
    }
}

/// Validation of one UTF-8 encoded scalar (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
enum UTF8Sequence {
    /// The length of the well-formed sequence starting at `index`, or `nil` when it is not one.
    static func length(_ start: UnsafePointer<UInt8>, count: Int, at index: Int) -> Int? {
        let lead = start[index]
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        let continuations: Int
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: continuations = 1
        case 0xE0: continuations = 2; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: continuations = 2
        case 0xED: continuations = 2; upper = 0x9F
        case 0xF0: continuations = 3; lower = 0x90
        case 0xF1...0xF3: continuations = 3
        case 0xF4: continuations = 3; upper = 0x8F
        default: return nil
        }
        guard index + continuations < count else { return nil }
        let second = start[index + 1]
        guard second >= lower, second <= upper else { return nil }
        var offset = 2
        while offset <= continuations {
            guard start[index + offset] & 0xC0 == 0x80 else { return nil }
            offset += 1
        }
        return continuations + 1
    }
}

/// Text from untrusted input made safe to put in an error message or a log line.
enum Printable {
    /// `text` cut to at most `limit` characters, control characters escaped.
    static func truncated(_ text: String, limit: Int = 40) -> String {
        var result = ""
        for (position, scalar) in text.unicodeScalars.enumerated() {
            if position == limit { return result + "…" }
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.properties.generalCategory == .format
                || scalar == "\u{2028}" || scalar == "\u{2029}" {
                result += scalar.escaped(asASCII: true)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
