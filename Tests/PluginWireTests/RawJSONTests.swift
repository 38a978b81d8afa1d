import Foundation
import PluginWire
import XCTest

final class RawJSONTests: XCTestCase {
    private func valid(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> RawJSON? {
        do {
            return try RawJSON(validating: Array(text.utf8))
        } catch {
            XCTFail("\(text) refused: \(error)", file: file, line: line)
            return nil
        }
    }

    private func refused(_ bytes: [UInt8]) -> WireError? {
        do {
            let value = try RawJSON(validating: bytes)
            XCTFail("accepted \(value)")
            return nil
        } catch {
            return error
        }
    }

    private func refused(_ text: String) -> WireError? { refused(Array(text.utf8)) }

    // MARK: Numbers

    func testValidating_numberGrammar_acceptsEveryRFC8259Form() {
        for text in ["0", "-0", "-0.0", "1", "-1", "10", "0.5", "1e5", "1E+5", "1e-5", "2.5E-3", "1e308", "-1.7976931348623157e308", "1e-999"] {
            XCTAssertEqual(valid(text)?.bytes, Array(text.utf8), text)
        }
    }

    func testValidating_bigIntegers_areKeptVerbatim() {
        let text = "[123456789012345678901234567890,18446744073709551616,-9223372036854775809]"
        XCTAssertEqual(valid(text)?.description, text)
    }

    func testValidating_leadingZeros_areRefusedAtTheSecondDigit() {
        XCTAssertEqual(refused("01"), WireError(code: .malformedJSON, offset: 1, reason: "a number must not have leading zeros"))
        XCTAssertEqual(refused("[-00]"), WireError(code: .malformedJSON, field: "[0]", offset: 3, reason: "a number must not have leading zeros"))
    }

    func testValidating_numbersBeyondDouble_areRefusedAsOutOfRange() {
        XCTAssertEqual(refused("1e999"), WireError(code: .outOfRange, offset: 0, reason: "number 1e999 does not fit in a Double"))
        XCTAssertEqual(refused(#"{"a":-2e308}"#), WireError(code: .outOfRange, field: "a", offset: 5, reason: "number -2e308 does not fit in a Double"))
        XCTAssertEqual(refused(String(repeating: "9", count: 400))?.code, .outOfRange)
    }

    func testValidating_malformedNumbers_areRefused() {
        for (text, offset, reason) in [("-", 1, "unexpected end of input, expected a digit"), ("1.", 2, "unexpected end of input, expected a digit after '.'"),
                                       (".5", 0, "expected a value"), ("1e", 2, "unexpected end of input, expected a digit in the exponent"),
                                       ("+1", 0, "expected a value"), ("0x1", 1, "unexpected data after the JSON value"), ("NaN", 0, "expected a value")] {
            let error = refused(text)
            XCTAssertEqual(error?.offset, offset, text)
            XCTAssertEqual(error?.reason, reason, text)
        }
    }

    // MARK: Strings

    func testValidating_escapes_areAcceptedVerbatim() {
        let text = #""\" \\ \/ \b \f \n \r \t \u0000 \u00e9 \uD83D\uDE00""#
        XCTAssertEqual(valid(text)?.bytes, Array(text.utf8))
        XCTAssertEqual(JSONValue(valid(text) ?? .null), .string("\" \\ / \u{8} \u{C} \n \r \t \u{0} é \u{1F600}"))
    }

    func testValidating_surrogates_mustPairUp() {
        XCTAssertEqual(refused(#"["\ud83d"]"#), WireError(code: .malformedJSON, field: "[0]", offset: 2,
                                                          reason: "high surrogate escape without a following low surrogate"))
        XCTAssertEqual(refused(#""\ud83d\u0041""#)?.reason, "high surrogate escape followed by a non-low-surrogate")
        XCTAssertEqual(refused(#""\ude00\ud83d""#)?.reason, "lone low surrogate escape")
        XCTAssertEqual(refused(#""\ud83dx""#)?.reason, "high surrogate escape without a following low surrogate")
    }

    func testValidating_badEscapes_areRefusedAtTheBadByte() {
        XCTAssertEqual(refused(#""\x""#), WireError(code: .malformedJSON, offset: 2, reason: "invalid escape character"))
        XCTAssertEqual(refused(#""\u12G4""#), WireError(code: .malformedJSON, offset: 5, reason: #"expected a hex digit in a \u escape"#))
        XCTAssertEqual(refused(#""\u12"#), WireError(code: .malformedJSON, offset: 5, reason: #"unterminated \u escape"#))
        XCTAssertEqual(refused(#""abc"#), WireError(code: .malformedJSON, offset: 4, reason: "unterminated string"))
    }

    func testValidating_rawControlCharacters_areRefused() {
        XCTAssertEqual(refused("\"a\tb\""), WireError(code: .malformedJSON, offset: 2, reason: "control character in a string must be escaped"))
    }

    func testValidating_longStrings_findTheBadByteWhereverItIs() {
        for position in [0, 7, 8, 9, 63, 64, 65, 1000] {
            var bytes = [UInt8(ascii: "\"")] + Array(repeating: UInt8(ascii: "x"), count: 1024) + [UInt8(ascii: "\"")]
            bytes[1 + position] = 0x80
            XCTAssertEqual(refused(bytes), WireError(code: .invalidUTF8, offset: 1 + position, reason: "not valid UTF-8"), "at \(position)")
            bytes[1 + position] = UInt8(ascii: "\"")
            XCTAssertEqual(refused(bytes)?.code, .trailingData, "quote at \(position)")
        }
        let text = "\"" + String(repeating: "é✓\u{1F600}abcdefgh", count: 200) + "\""
        XCTAssertEqual(valid(text)?.bytes.count, text.utf8.count)
    }

    // MARK: Nesting

    func testValidating_depth512_isAccepted() {
        let text = String(repeating: "[", count: 256) + String(repeating: #"{"a":"#, count: 256) + "1"
            + String(repeating: "}", count: 256) + String(repeating: "]", count: 256)
        XCTAssertNotNil(valid(text))
    }

    func testValidating_depth513_isRefusedAtTheOpeningBracket() {
        let text = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        let error = refused(text)
        XCTAssertEqual(error?.code, .tooDeep)
        XCTAssertEqual(error?.offset, 512)
        XCTAssertEqual(error?.reason, "nesting deeper than 512 levels")
    }

    func testValidating_tenMegabytesOfOpenBrackets_isRefusedWithoutCrashing() {
        XCTAssertEqual(refused([UInt8](repeating: UInt8(ascii: "["), count: 10 << 20))?.code, .tooDeep)
        XCTAssertEqual(refused([UInt8](repeating: UInt8(ascii: "{"), count: 10 << 20))?.code, .malformedJSON)
    }

    // MARK: Documents

    func testValidating_surroundingWhitespace_isDropped() {
        XCTAssertEqual(valid(" \n\t{\"a\" : [ 1 , 2 ] }\r\n")?.description, "{\"a\" : [ 1 , 2 ] }")
    }

    func testValidating_emptyOrTrailingData_isRefused() {
        XCTAssertEqual(refused(""), WireError(code: .malformedJSON, offset: 0, reason: "unexpected end of input, expected a value"))
        XCTAssertEqual(refused("  "), WireError(code: .malformedJSON, offset: 2, reason: "unexpected end of input, expected a value"))
        XCTAssertEqual(refused("1 2"), WireError(code: .trailingData, offset: 2, reason: "unexpected data after the JSON value"))
        XCTAssertEqual(refused("{}}"), WireError(code: .trailingData, offset: 2, reason: "unexpected data after the JSON value"))
    }

    func testValidating_structuralErrors_nameThePath() {
        XCTAssertEqual(refused(#"{"a":{"b":[1 2]}}"#), WireError(code: .malformedJSON, field: "a.b[0]", offset: 13,
                                                                reason: "expected ',' or ']' in an array"))
        XCTAssertEqual(refused(#"{"a" 1}"#), WireError(code: .malformedJSON, field: "a", offset: 5, reason: "expected ':' after an object key"))
        XCTAssertEqual(refused(#"{"a.b":[tru]}"#), WireError(code: .malformedJSON, field: #"["a.b"][0]"#, offset: 11,
                                                            reason: "invalid literal, expected true starting at offset 8"))
    }

    func testValidating_literals_areAcceptedAndMisspellingsRefused() {
        XCTAssertEqual(valid("[true,false,null]")?.description, "[true,false,null]")
        XCTAssertEqual(refused("nul")?.reason, "invalid literal, expected null starting at offset 0")
    }

    // MARK: Equality and conversions

    func testEquality_comparesBytes() {
        XCTAssertEqual(valid(#"{"a":1}"#), valid(#"{"a":1}"#))
        XCTAssertNotEqual(valid(#"{"a":1}"#), valid(#"{ "a": 1 }"#))
        XCTAssertEqual(Set([valid("1"), valid("1"), valid("2")]).count, 2)
    }

    func testValidating_nonContiguousCollection_readsTheSameBytes() throws {
        let bytes = Array(#"{"k":[1,"two"]}"#.utf8)
        XCTAssertEqual(try RawJSON(validating: bytes.lazy.map { $0 }), try RawJSON(validating: bytes))
        XCTAssertEqual(try RawJSON(validating: Data(bytes)), try RawJSON(validating: bytes))
    }

    func testJSONValueConversion_roundTrips() throws {
        let value = JSONValue.object(["b": .array([.int(-3), .double(2.5), .string("x\"y"), .null, .bool(true)]), "a": .object([:])])
        let raw = try RawJSON(value)
        XCTAssertEqual(raw.description, #"{"a":{},"b":[-3,2.5,"x\"y",null,true]}"#)
        XCTAssertEqual(JSONValue(raw), value)
    }

    func testJSONValueConversion_deeperThanLimit_isUnencodableWithPath() {
        var value = JSONValue.null
        for _ in 0..<513 { value = .array([value]) }
        XCTAssertThrowsError(try RawJSON(value)) { error in
            XCTAssertEqual((error as? WireError)?.code, .unencodable)
            XCTAssertEqual((error as? WireError)?.reason, "nesting deeper than 512 levels")
        }
        XCTAssertThrowsError(try RawJSON(.object(["a": .array([.int(1), .double(.nan)])]))) { error in
            XCTAssertEqual(error as? WireError, WireError(code: .unencodable, subject: "JSONValue", field: "a[1]", reason: "nan has no JSON form"))
        }
    }
}
