import PluginWire
import XCTest

/// Every class of malformed body is refused with the exact error: code, message kind, field
/// path, byte offset and reason.
final class MessageDecodingErrorTests: XCTestCase {
    private func assertDecode(_ text: String, throws expected: WireError, file: StaticString = #filePath, line: UInt = #line) {
        assertDecode(bytes: Array(text.utf8), throws: expected, file: file, line: line)
    }

    private func assertDecode(bytes: [UInt8], throws expected: WireError, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let message = try MessageCodec.decode(body: bytes)
            XCTFail("decoded \(message), expected \(expected)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    /// The byte offset of the first occurrence of `marker` in `text`.
    private func offset(of marker: String, in text: String) -> Int {
        let bytes = Array(text.utf8)
        guard let range = bytes.firstRange(of: Array(marker.utf8)) else { preconditionFailure("\(marker) not in \(text)") }
        return range.lowerBound
    }

    private let emitPrefix = #"{"kind":"emit","id":1,"scope":"global","event":"e","payload":"#

    // MARK: Syntax, reported with the path where it happened

    func testDecode_truncatedObject_throwsMalformedJSONAtEnd() {
        assertDecode(#"{"kind":"ping""#, throws: WireError(code: .malformedJSON, subject: "ping", field: "kind", offset: 14,
                                                          reason: "unexpected end of input, expected ',' or '}' in an object"))
    }

    func testDecode_trailingData_throwsTrailingDataAtFirstExtraByte() {
        assertDecode(#"{"kind":"ping","id":1} x"#, throws: WireError(code: .trailingData, subject: "ping", offset: 23,
                                                                    reason: "unexpected data after the JSON value"))
    }

    func testDecode_twoObjects_throwsTrailingData() {
        assertDecode(#"{"kind":"ping","id":1}{"kind":"ping","id":2}"#,
                     throws: WireError(code: .trailingData, subject: "ping", offset: 22, reason: "unexpected data after the JSON value"))
    }

    func testDecode_emptyBody_throwsMalformedJSON() {
        assertDecode("", throws: WireError(code: .malformedJSON, offset: 0, reason: "unexpected end of input, expected a value"))
    }

    func testDecode_trailingComma_throwsMalformedJSON() {
        assertDecode(#"{"kind":"ping","id":1,}"#, throws: WireError(code: .malformedJSON, subject: "ping", offset: 22, reason: "expected a string key"))
    }

    func testDecode_singleQuotedKey_throwsMalformedJSON() {
        assertDecode("{'kind':1}", throws: WireError(code: .malformedJSON, offset: 1, reason: "expected a string key"))
    }

    func testDecode_leadingZero_throwsMalformedJSONAtSecondDigit() {
        assertDecode(#"{"kind":"ping","id":01}"#, throws: WireError(code: .malformedJSON, subject: "ping", field: "id", offset: 21,
                                                                   reason: "a number must not have leading zeros"))
    }

    func testDecode_badLiteral_throwsMalformedJSON() {
        assertDecode(#"{"kind":"ping","id":tru}"#, throws: WireError(code: .malformedJSON, subject: "ping", field: "id", offset: 23,
                                                                    reason: "invalid literal, expected true starting at offset 20"))
    }

    func testDecode_unescapedControlCharacter_throwsMalformedJSON() {
        assertDecode("{\"kind\":\"pi\u{1}ng\"}", throws: WireError(code: .malformedJSON, field: "kind", offset: 11,
                                                                  reason: "control character in a string must be escaped"))
    }

    func testDecode_loneHighSurrogateEscape_throwsMalformedJSONAtEscape() {
        assertDecode(#"{"kind":"\ud800"}"#, throws: WireError(code: .malformedJSON, field: "kind", offset: 9,
                                                             reason: "high surrogate escape without a following low surrogate"))
    }

    func testDecode_loneLowSurrogateEscape_throwsMalformedJSONAtEscape() {
        let text = #"{"kind":"log","level":"info","message":"a\udc00","metadata":{}}"#
        assertDecode(text, throws: WireError(code: .malformedJSON, subject: "log", field: "message", offset: offset(of: #"\udc00"#, in: text),
                                             reason: "lone low surrogate escape"))
    }

    func testDecode_invalidEscape_throwsMalformedJSONAtEscapeCharacter() {
        assertDecode(#"{"kind":"a\qb"}"#, throws: WireError(code: .malformedJSON, field: "kind", offset: 11, reason: "invalid escape character"))
    }

    func testDecode_hugeExponent_throwsOutOfRange() {
        assertDecode(#"{"kind":"ping","id":1e999}"#, throws: WireError(code: .outOfRange, subject: "ping", field: "id", offset: 20,
                                                                      reason: "number 1e999 does not fit in a Double"))
    }

    func testDecode_invalidUTF8InKind_throwsInvalidUTF8AtFirstBadByte() {
        assertDecode(bytes: Array(#"{"kind":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8),
                     throws: WireError(code: .invalidUTF8, field: "kind", offset: 9, reason: "not valid UTF-8"))
    }

    func testDecode_invalidUTF8DeepInPayload_namesThePathInsideThePayload() {
        let prefix = emitPrefix + #"[0,1,2,{"id":7,"name":"ab"#
        assertDecode(bytes: Array(prefix.utf8) + [0xE2, 0x82] + Array(#""}]}"#.utf8),
                     throws: WireError(code: .invalidUTF8, subject: "emit", field: "payload[3].name", offset: prefix.utf8.count,
                                       reason: "not valid UTF-8"))
    }

    func testDecode_overlongAndSurrogateUTF8_areInvalid() {
        for bad: [UInt8] in [[0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF]] {
            let prefix = Array(#"{"kind":"log","level":"#.utf8) + [ASCII.quote]
            assertDecode(bytes: prefix + bad + Array(#"","message":"m","metadata":{}}"#.utf8),
                         throws: WireError(code: .invalidUTF8, subject: "log", field: "level", offset: prefix.count, reason: "not valid UTF-8"))
        }
    }

    func testDecode_invalidUTF8OutsideStrings_throwsInvalidUTF8() {
        assertDecode(bytes: Array(#"{"kind":"ping","id":"#.utf8) + [0xFF] + Array("}".utf8),
                     throws: WireError(code: .invalidUTF8, subject: "ping", field: "id", offset: 20, reason: "not valid UTF-8"))
    }

    // MARK: Nesting

    func testDecode_payloadNestedPastLimit_throwsTooDeepInsteadOfOverflowingStack() {
        let depth = 100_000
        let text = emitPrefix + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        let field = "payload" + String(repeating: "[0]", count: 9) + "…" + String(repeating: "[0]", count: 10)
        assertDecode(text, throws: WireError(code: .tooDeep, subject: "emit", field: field, offset: emitPrefix.utf8.count + 512,
                                             reason: "nesting deeper than 512 levels"))
    }

    func testDecode_payloadNestedExactlyAtLimit_decodes() throws {
        let value = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        let message = try MessageCodec.decode(body: Array((emitPrefix + value + "}").utf8))
        XCTAssertEqual(message, .emit(Emit(id: 1, scope: .global, event: "e", payload: try RawJSON(validating: Array(value.utf8)))))
    }

    func testDecode_tenMegabytesOfOpenBrackets_throwsTooDeep() {
        let text = emitPrefix + String(repeating: "[", count: 10 << 20)
        XCTAssertThrowsError(try MessageCodec.decode(body: Array(text.utf8))) { error in
            XCTAssertEqual((error as? WireError)?.code, .tooDeep)
        }
    }

    // MARK: Shape of the message

    func testDecode_topLevelArray_throwsNotAnObject() {
        assertDecode(" [1]", throws: WireError(code: .notAnObject, offset: 1, reason: #"a frame body must be a JSON object with a "kind" field"#))
    }

    func testDecode_topLevelString_throwsNotAnObject() {
        assertDecode(#""ping""#, throws: WireError(code: .notAnObject, offset: 0, reason: #"a frame body must be a JSON object with a "kind" field"#))
    }

    func testDecode_topLevelGarbage_throwsMalformedJSON() {
        assertDecode("x", throws: WireError(code: .malformedJSON, offset: 0, reason: "expected a value"))
    }

    func testDecode_noKind_throwsMissingKindAtClosingBrace() {
        assertDecode(#"{"id":1}"#, throws: WireError(code: .missingKind, offset: 7, reason: #"message has no "kind" field"#))
    }

    func testDecode_numericKind_throwsWrongType() {
        assertDecode(#"{"kind":5}"#, throws: WireError(code: .wrongType, field: "kind", offset: 8, reason: "must be a string"))
    }

    func testDecode_unknownKind_throwsUnknownKindWithName() {
        assertDecode(#"{"kind":"frob"}"#, throws: WireError(code: .unknownKind, field: "kind", offset: 8,
                                                           reason: #"unknown message kind "frob" (protocol version 2)"#))
    }

    func testDecode_unknownKindWithControlCharacters_isEscapedAndShortened() {
        let kind = "a\\nb" + String(repeating: "z", count: 100)
        let text = #"{"kind":"\#(kind)"}"#
        assertDecode(text, throws: WireError(code: .unknownKind, field: "kind", offset: 8,
                                             reason: #"unknown message kind "a\nb"# + String(repeating: "z", count: 37) + #"…" (protocol version 2)"#))
    }

    // MARK: Fields

    func testDecode_emitWithoutEvent_throwsMissingFieldAtClosingBrace() {
        let text = #"{"kind":"emit","id":1,"scope":"global","payload":{}}"#
        assertDecode(text, throws: WireError(code: .missingField, subject: "emit", field: "event", offset: text.utf8.count - 1,
                                             reason: "required field is missing"))
    }

    func testDecode_emitWithoutPayload_throwsMissingFieldPayload() {
        let text = #"{"kind":"emit","id":1,"scope":"global","event":"e"}"#
        assertDecode(text, throws: WireError(code: .missingField, subject: "emit", field: "payload", offset: text.utf8.count - 1,
                                             reason: "required field is missing"))
    }

    func testDecode_welcomeWithoutGlobalPlugins_throwsMissingField() {
        let text = #"{"kind":"welcome","protocolVersion":2,"sessionID":"s","settings":{},"maximumFrameLength":1,"heartbeatIntervalMilliseconds":1,"maximumInFlight":1}"#
        assertDecode(text, throws: WireError(code: .missingField, subject: "welcome", field: "globalPlugins", offset: text.utf8.count - 1,
                                             reason: "required field is missing"))
    }

    func testDecode_stringID_throwsWrongTypeInteger() {
        let text = #"{"kind":"emit","id":"1","scope":"global","event":"e","payload":{}}"#
        assertDecode(text, throws: WireError(code: .wrongType, subject: "emit", field: "id", offset: 20, reason: "must be an integer"))
    }

    func testDecode_nullEvent_throwsWrongTypeNotNull() {
        let text = #"{"kind":"emit","id":1,"scope":"global","event":null,"payload":{}}"#
        assertDecode(text, throws: WireError(code: .wrongType, subject: "emit", field: "event", offset: offset(of: "null", in: text),
                                             reason: "must be a string, not null"))
    }

    func testDecode_negativeID_throwsOutOfRange() {
        let text = #"{"kind":"emit","id":-1,"scope":"global","event":"e","payload":{}}"#
        assertDecode(text, throws: WireError(code: .outOfRange, subject: "emit", field: "id", offset: 20,
                                             reason: "number -1 does not fit in UInt64"))
    }

    func testDecode_idPastUInt64_throwsOutOfRange() {
        assertDecode(#"{"kind":"cancel","id":18446744073709551616}"#,
                     throws: WireError(code: .outOfRange, subject: "cancel", field: "id", offset: 22,
                                       reason: "number 18446744073709551616 does not fit in UInt64"))
    }

    func testDecode_fractionalID_throwsOutOfRange() {
        assertDecode(#"{"kind":"cancel","id":1.5}"#, throws: WireError(code: .outOfRange, subject: "cancel", field: "id", offset: 22,
                                                                      reason: "number 1.5 does not fit in UInt64"))
    }

    func testDecode_pidPastInt32_throwsOutOfRange() {
        let text = #"{"kind":"hello","protocolVersion":2,"pid":3000000000,"plugins":[],"build":"b"}"#
        assertDecode(text, throws: WireError(code: .outOfRange, subject: "hello", field: "pid", offset: offset(of: "3000000000", in: text),
                                             reason: "number 3000000000 does not fit in Int32"))
    }

    func testDecode_unknownScope_throwsInvalidValueNamingScope() {
        let text = #"{"kind":"request","id":1,"scope":"galaxy","name":"n","payload":1,"optional":false}"#
        assertDecode(text, throws: WireError(code: .invalidValue, subject: "request", field: "scope", offset: offset(of: #""galaxy""#, in: text),
                                             reason: #""galaxy" is not a scope; expected "global" or "session""#))
    }

    func testDecode_nonStringPluginInArray_throwsWrongTypeWithIndex() {
        let text = #"{"kind":"hello","protocolVersion":2,"pid":1,"plugins":["a",2],"build":"b"}"#
        assertDecode(text, throws: WireError(code: .wrongType, subject: "hello", field: "plugins[1]", offset: offset(of: "2]", in: text),
                                             reason: "must be a string"))
    }

    func testDecode_nestedFailureWithoutCode_throwsMissingFieldWithPath() {
        let text = #"{"kind":"emitResult","id":1,"handled":0,"stopped":false,"error":{"message":"m"}}"#
        assertDecode(text, throws: WireError(code: .missingField, subject: "emitResult", field: "error.code", offset: text.utf8.count - 2,
                                             reason: "required field is missing"))
    }

    func testDecode_nonStringDetail_throwsWrongTypeWithPath() {
        let text = #"{"kind":"error","code":"x","message":"m","details":{"a":1}}"#
        assertDecode(text, throws: WireError(code: .wrongType, subject: "error", field: "details.a", offset: offset(of: "1}", in: text),
                                             reason: "must be a string"))
    }

    func testDecode_pongBusyWithoutSince_throwsMissingFieldWithPath() {
        let text = #"{"kind":"pong","id":1,"busy":{"event":"e"}}"#
        assertDecode(text, throws: WireError(code: .missingField, subject: "pong", field: "busy.sinceMilliseconds", offset: text.utf8.count - 2,
                                             reason: "required field is missing"))
    }

    func testDecode_stringStopped_throwsWrongTypeBoolean() {
        let text = #"{"kind":"emitResult","id":1,"handled":0,"stopped":"no"}"#
        assertDecode(text, throws: WireError(code: .wrongType, subject: "emitResult", field: "stopped", offset: offset(of: #""no""#, in: text),
                                             reason: "must be a boolean"))
    }

    func testDecode_objectMetadataAsArray_throwsWrongTypeObject() {
        let text = #"{"kind":"log","level":"info","message":"m","metadata":[]}"#
        assertDecode(text, throws: WireError(code: .wrongType, subject: "log", field: "metadata", offset: offset(of: "[]", in: text),
                                             reason: "must be an object"))
    }

    func testDecode_pluginsAsString_throwsWrongTypeArray() {
        assertDecode(#"{"kind":"ready","enabledPlugins":"a","attachedPlugins":[]}"#,
                     throws: WireError(code: .wrongType, subject: "ready", field: "enabledPlugins", offset: 33, reason: "must be an array"))
    }

    func testDecode_firstSyntaxErrorWins_overAnyFieldError() {
        assertDecode(#"{"kind":"frob","x":[1,}"#, throws: WireError(code: .malformedJSON, subject: nil, field: "x[1]", offset: 22,
                                                                   reason: "expected a value"))
    }

    // MARK: Descriptions

    func testWireError_descriptions_nameSubjectFieldAndOffset() {
        XCTAssertEqual(WireError(code: .missingField, subject: "emit", field: "event", offset: 40, reason: "required field is missing").description,
                       "emit.event: required field is missing (at byte offset 40)")
        XCTAssertEqual(WireError(code: .invalidUTF8, subject: "emit", field: "payload[3].name", offset: 57, reason: "not valid UTF-8").description,
                       "emit.payload[3].name: not valid UTF-8 (at byte offset 57)")
        XCTAssertEqual(WireError(code: .malformedJSON, field: "[2]", offset: 3, reason: "expected a value").description,
                       "[2]: expected a value (at byte offset 3)")
        XCTAssertEqual(WireError(code: .malformedJSON, offset: 0, reason: "expected a value").description, "JSON value: expected a value (at byte offset 0)")
        XCTAssertEqual(WireError.frameTooLong(kind: .log, length: 20, maximum: 10).description,
                       "log: encodes to 20 bytes, more than the frame maximum of 10 bytes")
        XCTAssertEqual(WireError.Code.unknownKind.description, "unknownKind")
    }
}

private enum ASCII {
    static let quote = UInt8(ascii: "\"")
}
