/// Reading validated JSON number tokens as Swift numbers, exactly or not at all.
enum JSONNumber {
    /// The token as text.
    static func text(_ start: UnsafePointer<UInt8>, count: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    }

    /// The token's value as `T` when it is an integer `T` holds exactly (`1e3` and `2.0` count;
    /// `1.5`, `-1` for an unsigned type, or too large a magnitude do not).
    static func integer<T: FixedWidthInteger>(_ type: T.Type, _ start: UnsafePointer<UInt8>, count: Int) -> T? {
        let negative = start[0] == ASCII.minus
        var index = negative ? 1 : 0
        var magnitude: UInt64 = 0
        while index < count, ASCII.isDigit(start[index]) {
            let (shifted, overflowA) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(UInt64(start[index] - ASCII.zero))
            if overflowA || overflowB { return integerThroughDouble(type, start, count: count) }
            magnitude = sum
            index += 1
        }
        guard index == count else { return integerThroughDouble(type, start, count: count) }
        guard negative, magnitude != 0 else { return T(exactly: magnitude) }
        guard T.isSigned, magnitude <= UInt64(T.min.magnitude) else { return nil }
        return T(truncatingIfNeeded: 0 &- magnitude)
    }

    private static func integerThroughDouble<T: FixedWidthInteger>(_ type: T.Type, _ start: UnsafePointer<UInt8>, count: Int) -> T? {
        guard let value = double(start, count: count), value.rounded() == value else { return nil }
        return T(exactly: value)
    }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The token's value as the nearest `Double`.
    ///
    /// Up to 15 significant digits and a decimal exponent within ±22 are exact with one
    /// multiplication or division (Clinger's fast path); anything else goes to the standard
    /// library's correctly rounded parser.
    static func double(_ start: UnsafePointer<UInt8>, count: Int) -> Double? {
        let negative = start[0] == ASCII.minus
        var index = negative ? 1 : 0
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var seenDot = false
        while index < count {
            let byte = start[index]
            if ASCII.isDigit(byte) {
                if mantissa != 0 || byte != ASCII.zero { significant += 1 }
                mantissa = mantissa &* 10 &+ UInt64(byte - ASCII.zero)
                if seenDot { exponent -= 1 }
            } else if byte == ASCII.dot {
                seenDot = true
            } else {
                break
            }
            index += 1
        }
        if index < count {
            // An exponent: `e`, an optional sign, digits.
            index += 1
            let negativeExponent = start[index] == ASCII.minus
            if start[index] == ASCII.minus || start[index] == ASCII.plus { index += 1 }
            var value = 0
            while index < count, value < 10_000 {
                value = value * 10 + Int(start[index] - ASCII.zero)
                index += 1
            }
            if index < count { return Double(text(start, count: count)) }
            exponent += negativeExponent ? -value : value
        }
        guard significant <= 15, (-22...22).contains(exponent) else { return Double(text(start, count: count)) }
        let magnitude = exponent < 0 ? Double(mantissa) / powersOfTen[-exponent] : Double(mantissa) * powersOfTen[exponent]
        return negative ? -magnitude : magnitude
    }
}
