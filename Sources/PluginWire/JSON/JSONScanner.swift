/// Reads and validates JSON (RFC 8259) in one pass over contiguous UTF-8 bytes.
///
/// Validation is strict and complete: UTF-8 inside strings, escapes (surrogate pairs
/// included), the number grammar (and numbers too large for a `Double`), literals, and a depth
/// limit. ``skipValue(depthLimit:)`` is iterative, so no input can exhaust the stack. Every
/// error carries the byte offset where it was seen; callers add the field path.
///
/// The scanner only reads `start[0..<count]`; every read is guarded by `index < count`.
struct JSONScanner {
    let start: UnsafePointer<UInt8>
    let count: Int
    var index: Int

    init(_ start: UnsafePointer<UInt8>, count: Int, index: Int = 0) {
        self.start = start
        self.count = count
        self.index = index
    }

    /// Runs `body` with a scanner over `buffer`, or throws "expected a value" for an empty one.
    static func scanning<Result>(
        _ buffer: UnsafeRawBufferPointer, _ body: (inout JSONScanner) throws(WireError) -> Result
    ) throws(WireError) -> Result {
        guard buffer.count > 0, let base = buffer.baseAddress else {
            throw .malformed(0, "unexpected end of input, expected a value")
        }
        var scanner = JSONScanner(base.assumingMemoryBound(to: UInt8.self), count: buffer.count)
        return try body(&scanner)
    }

    /// The byte at the current index, or `nil` at the end.
    var current: UInt8? { index < count ? start[index] : nil }

    @inline(__always)
    mutating func skipWhitespace() {
        // Compact JSON has none: one test in the common case.
        guard index < count, start[index] <= ASCII.space else { return }
        while index < count {
            switch start[index] {
            case ASCII.space, ASCII.newline, ASCII.carriageReturn, ASCII.tab: index += 1
            default: return
            }
        }
    }

    /// The error for a missing `what` at the current index: end of input, bad UTF-8, or a wrong byte.
    func expected(_ what: String) -> WireError {
        guard index < count else { return .malformed(index, "unexpected end of input, expected \(what)") }
        if start[index] >= 0x80, UTF8Sequence.length(start, count: count, at: index) == nil {
            return WireError(code: .invalidUTF8, offset: index, reason: "not valid UTF-8")
        }
        return .malformed(index, "expected \(what)")
    }

    // MARK: Values

    /// Validates the value at the current index and moves past it, without recursion.
    /// Returns whether the value is a string with escapes (its content differs from its bytes).
    ///
    /// Arrays and objects may nest `depthLimit` levels; the opening bracket of level
    /// `depthLimit + 1` is reported as ``WireError/Code/tooDeep``.
    @discardableResult @inline(__always)
    mutating func skipValue(depthLimit: Int = RawJSON.maximumDepth) throws(WireError) -> Bool {
        switch current {
        case ASCII.quote?:
            return try skipString().escaped
        case let byte? where byte == ASCII.minus || ASCII.isDigit(byte):
            try skipNumber()
            return false
        default:
            try skipComposite(depthLimit: depthLimit)
            return false
        }
    }

    private mutating func skipComposite(depthLimit: Int) throws(WireError) {
        var depth = 0
        var objectLevels = SIMD8<UInt64>()   // bit d: level d + 1 is an object (512 levels at most)
        precondition(depthLimit <= 512, "the level stack holds 512 levels")
        value: while true {
            guard index < count else { throw expected("a value") }
            switch start[index] {
            case ASCII.openBrace, ASCII.openBracket:
                let isObject = start[index] == ASCII.openBrace
                guard depth < depthLimit else {
                    throw WireError(code: .tooDeep, offset: index, reason: "nesting deeper than \(depthLimit) levels")
                }
                index += 1
                skipWhitespace()
                if current == (isObject ? ASCII.closeBrace : ASCII.closeBracket) {
                    index += 1
                } else {
                    let bit = UInt64(1) << UInt64(depth & 63)
                    if isObject { objectLevels[depth >> 6] |= bit } else { objectLevels[depth >> 6] &= ~bit }
                    depth += 1
                    if isObject { try readKey() }
                    continue value
                }
            case ASCII.quote:
                try skipString()
            case ASCII.minus, ASCII.zero...ASCII.nine:
                try skipNumber()
            case UInt8(ascii: "t"):
                try skipLiteral("true")
            case UInt8(ascii: "f"):
                try skipLiteral("false")
            case UInt8(ascii: "n"):
                try skipLiteral("null")
            default:
                throw expected("a value")
            }
            // After a complete value: separators and closing brackets of the enclosing levels.
            while depth > 0 {
                let level = depth - 1
                let isObject = objectLevels[level >> 6] & (UInt64(1) << UInt64(level & 63)) != 0
                skipWhitespace()
                if current == ASCII.comma {
                    index += 1
                    skipWhitespace()
                    if isObject { try readKey() }
                    continue value
                }
                guard current == (isObject ? ASCII.closeBrace : ASCII.closeBracket) else {
                    throw expected(isObject ? "',' or '}' in an object" : "',' or ']' in an array")
                }
                index += 1
                depth -= 1
            }
            return
        }
    }

    // MARK: Objects and arrays, one level at a time

    /// At `{`: moves inside; `false` (and past `}`) when the object is empty.
    mutating func enterObject() -> Bool { enter(close: ASCII.closeBrace) }

    /// At `[`: moves inside; `false` (and past `]`) when the array is empty.
    mutating func enterArray() -> Bool { enter(close: ASCII.closeBracket) }

    private mutating func enter(close: UInt8) -> Bool {
        index += 1
        skipWhitespace()
        guard current == close else { return true }
        index += 1
        return false
    }

    /// Reads `"key" :` and the whitespace after it; returns the key.
    @discardableResult @inline(__always)
    mutating func readKey() throws(WireError) -> JSONString {
        guard current == ASCII.quote else { throw expected("a string key") }
        let key = try skipString()
        skipWhitespace()
        guard current == ASCII.colon else { throw expected("':' after an object key") }
        index += 1
        skipWhitespace()
        return key
    }

    /// After a member: `true` past a `,` (another member follows), `false` past the closing `}`.
    mutating func nextMember() throws(WireError) -> Bool {
        try next(close: ASCII.closeBrace, "',' or '}' in an object")
    }

    /// After an element: `true` past a `,` (another element follows), `false` past the closing `]`.
    mutating func nextElement() throws(WireError) -> Bool {
        try next(close: ASCII.closeBracket, "',' or ']' in an array")
    }

    @inline(__always)
    private mutating func next(close: UInt8, _ what: String) throws(WireError) -> Bool {
        skipWhitespace()
        switch current {
        case ASCII.comma?:
            index += 1
            skipWhitespace()
            return true
        case close?:
            index += 1
            return false
        default:
            throw expected(what)
        }
    }

    // MARK: Scalars

    private mutating func skipLiteral(_ literal: StaticString) throws(WireError) {
        let begin = index
        let text = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for byte in text {
            guard current == byte else {
                throw .malformed(index, "invalid literal, expected \(literal) starting at offset \(begin)")
            }
            index += 1
        }
    }

    /// Validates a number (RFC 8259 grammar, finite as a `Double`) and moves past it.
    mutating func skipNumber() throws(WireError) {
        let begin = index
        if current == ASCII.minus { index += 1 }
        guard let first = current, ASCII.isDigit(first) else { throw expected("a digit") }
        index += 1
        if first == ASCII.zero {
            if let next = current, ASCII.isDigit(next) { throw .malformed(index, "a number must not have leading zeros") }
        } else {
            skipDigits()
        }
        let integerDigits = index - begin
        var plain = true
        if current == ASCII.dot {
            index += 1
            guard skipDigits() > 0 else { throw expected("a digit after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            plain = false
            index += 1
            if current == ASCII.plus || current == ASCII.minus { index += 1 }
            guard skipDigits() > 0 else { throw expected("a digit in the exponent") }
        }
        // Without an exponent, fewer than 309 integer digits always fit in a Double.
        if !plain || integerDigits > 308 {
            let text = JSONNumber.text(start + begin, count: index - begin)
            guard Double(text)?.isFinite == true else {
                throw WireError(code: .outOfRange, offset: begin,
                                reason: "number \(Printable.truncated(text)) does not fit in a Double")
            }
        }
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let begin = index
        while index < count, ASCII.isDigit(start[index]) { index += 1 }
        return index - begin
    }

    /// Validates a string at `"` and moves past its closing quote.
    ///
    /// A string of plain ASCII that ends within 16 bytes (keys, names, ids) is recognised
    /// inline with one block test; anything else goes through ``skipLongString(from:)``.
    @discardableResult @inline(__always)
    mutating func skipString() throws(WireError) -> JSONString {
        let begin = index
        if begin &+ 17 <= count {
            let length = SIMDScan.firstSpecial(in: start + begin + 1)
            if length < 16, start[begin &+ 1 &+ length] == ASCII.quote {
                index = begin &+ length &+ 2
                return JSONString(start: begin, end: index, escaped: false)
            }
        }
        return try skipLongString(from: begin)
    }

    /// Validates any string at `begin` (its `"`): long runs by blocks, escapes, UTF-8.
    private mutating func skipLongString(from begin: Int) throws(WireError) -> JSONString {
        index = begin + 1
        var escaped = false
        while true {
            index = SIMDScan.skipPlainASCII(start, count: count, from: index)
            while index &+ 8 <= count, SWAR.isPlainASCII(UnsafeRawPointer(start + index).loadUnaligned(as: UInt64.self)) {
                index &+= 8
            }
            guard index < count else { throw .malformed(index, "unterminated string") }
            let byte = start[index]
            if byte == ASCII.quote {
                index += 1
                return JSONString(start: begin, end: index, escaped: escaped)
            } else if byte == ASCII.backslash {
                index += try JSONEscape.decode(start, count: count, at: index).length
                escaped = true
            } else if byte < 0x20 {
                throw .malformed(index, "control character in a string must be escaped")
            } else if byte < 0x80 {
                index += 1
            } else {
                guard let length = UTF8Sequence.length(start, count: count, at: index) else {
                    throw WireError(code: .invalidUTF8, offset: index, reason: "not valid UTF-8")
                }
                index += length
            }
        }
    }
}

/// A string token: `start` is its opening quote, `end` just past its closing quote.
struct JSONString {
    let start: Int
    let end: Int
    /// Whether it holds a backslash escape (its content differs from its bytes).
    let escaped: Bool

    /// The content bytes, between the quotes.
    var content: Range<Int> { (start + 1)..<(end - 1) }
}
