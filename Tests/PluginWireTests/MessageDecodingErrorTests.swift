import PluginWire
import XCTest

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

    private let emitFields = #""id":1,"scope":"global","event":"e","payload":{}"#

    func testDecode_truncatedObject_throwsMalformedJSONAtEnd() {
        assertDecode(#"{"kind":"ping""#, throws: .malformedJSON(offset: 14, reason: "unexpected end of input, expected ',' or '}' in an object"))
    }

    func testDecode_trailingData_throwsMalformedJSONAtTrailingByte() {
        assertDecode(#"{"kind":"ping","id":1} x"#, throws: .malformedJSON(offset: 23, reason: "unexpected data after the JSON value"))
    }

    func testDecode_twoObjects_throwsMalformedJSON() {
        assertDecode(#"{"kind":"ping","id":1}{"kind":"ping","id":2}"#,
                     throws: .malformedJSON(offset: 22, reason: "unexpected data after the JSON value"))
    }

    func testDecode_emptyBody_throwsMalformedJSON() {
        assertDecode("", throws: .malformedJSON(offset: 0, reason: "unexpected end of input, expected a value"))
    }

    func testDecode_trailingComma_throwsMalformedJSON() {
        assertDecode(#"{"kind":"ping","id":1,}"#, throws: .malformedJSON(offset: 22, reason: "expected a string key"))
    }

    func testDecode_singleQuotedKey_throwsMalformedJSON() {
        assertDecode("{'kind':1}", throws: .malformedJSON(offset: 1, reason: "expected a string key"))
    }

    func testDecode_leadingZero_throwsMalformedJSON() {
        assertDecode(#"{"kind":"ping","id":01}"#, throws: .malformedJSON(offset: 21, reason: "expected ',' or '}' in an object"))
    }

    func testDecode_badLiteral_throwsMalformedJSON() {
        assertDecode(#"{"kind":"ping","id":tru}"#,
                     throws: .malformedJSON(offset: 23, reason: "invalid literal, expected true starting at offset 20"))
    }

    func testDecode_unescapedControlCharacter_throwsMalformedJSON() {
        assertDecode("{\"kind\":\"pi\u{1}ng\"}", throws: .malformedJSON(offset: 11, reason: "control character in a string must be escaped"))
    }

    func testDecode_loneHighSurrogateEscape_throwsMalformedJSON() {
        assertDecode(#"{"kind":"\ud800"}"#,
                     throws: .malformedJSON(offset: 9, reason: "high surrogate escape without a following low surrogate"))
    }

    func testDecode_hugeExponent_throwsMalformedJSON() {
        assertDecode(#"{"kind":"ping","id":1e999}"#, throws: .malformedJSON(offset: 20, reason: "number 1e999 is out of range"))
    }

    func testDecode_nestingPastLimit_throwsMalformedJSONInsteadOfOverflowingStack() {
        let depth = 100_000
        assertDecode(String(repeating: "[", count: depth) + String(repeating: "]", count: depth),
                     throws: .malformedJSON(offset: 512, reason: "nesting deeper than 512 levels"))
    }

    func testDecode_invalidUTF8_throwsInvalidUTF8AtFirstBadByte() {
        assertDecode(bytes: Array(#"{"kind":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8), throws: .invalidUTF8(offset: 9))
    }

    func testDecode_topLevelArray_throwsNotAnObject() {
        assertDecode("[1]", throws: .notAnObject)
    }

    func testDecode_topLevelString_throwsNotAnObject() {
        assertDecode(#""ping""#, throws: .notAnObject)
    }

    func testDecode_noKind_throwsMissingKind() {
        assertDecode(#"{"id":1}"#, throws: .missingKind)
    }

    func testDecode_numericKind_throwsKindNotAString() {
        assertDecode(#"{"kind":5}"#, throws: .kindNotAString)
    }

    func testDecode_unknownKind_throwsUnknownKindWithName() {
        assertDecode(#"{"kind":"frob"}"#, throws: .unknownKind("frob"))
    }

    func testDecode_emitWithoutEvent_throwsMissingFieldEvent() {
        assertDecode(#"{"kind":"emit","id":1,"scope":"global","payload":{}}"#, throws: .missingField(kind: "emit", field: "event"))
    }

    func testDecode_emitWithoutPayload_throwsMissingFieldPayload() {
        assertDecode(#"{"kind":"emit","id":1,"scope":"global","event":"e"}"#, throws: .missingField(kind: "emit", field: "payload"))
    }

    func testDecode_stringID_throwsWrongTypeInteger() {
        assertDecode(#"{"kind":"emit","id":"1","scope":"global","event":"e","payload":{}}"#,
                     throws: .wrongType(kind: "emit", field: "id", expected: "an integer"))
    }

    func testDecode_nullEvent_throwsWrongTypeNotNull() {
        assertDecode(#"{"kind":"emit","id":1,"scope":"global","event":null,"payload":{}}"#,
                     throws: .wrongType(kind: "emit", field: "event", expected: "a string, not null"))
    }

    func testDecode_negativeID_throwsInvalidValue() {
        assertDecode(#"{"kind":"emit","id":-1,"scope":"global","event":"e","payload":{}}"#,
                     throws: .invalidValue(kind: "emit", field: "id", description: "number -1 does not fit in UInt64"))
    }

    func testDecode_fractionalID_throwsInvalidValue() {
        assertDecode(#"{"kind":"cancel","id":1.5}"#,
                     throws: .invalidValue(kind: "cancel", field: "id", description: "number 1.5 does not fit in UInt64"))
    }

    func testDecode_pidPastInt32_throwsInvalidValue() {
        assertDecode(#"{"kind":"hello","protocolVersion":1,"sessionID":"s","pid":3000000000,"plugins":[],"sandboxLayers":[]}"#,
                     throws: .invalidValue(kind: "hello", field: "pid", description: "number 3000000000 does not fit in Int32"))
    }

    func testDecode_unknownScope_throwsInvalidValueNamingScope() {
        assertDecode(#"{"kind":"request","id":1,"scope":"galaxy","name":"n","payload":1,"optional":false}"#,
                     throws: .invalidValue(kind: "request", field: "scope",
                                           description: "Cannot initialize Scope from invalid String value galaxy"))
    }

    func testDecode_nonStringPluginInArray_throwsWrongTypeWithIndex() {
        assertDecode(#"{"kind":"hello","protocolVersion":1,"sessionID":"s","pid":1,"plugins":["a",2],"sandboxLayers":[]}"#,
                     throws: .wrongType(kind: "hello", field: "plugins[1]", expected: "a string"))
    }

    func testDecode_nestedFailureWithoutCode_throwsMissingFieldWithPath() {
        assertDecode(#"{"kind":"emitResult","id":1,"stopped":false,"error":{"message":"m"}}"#,
                     throws: .missingField(kind: "emitResult", field: "error.code"))
    }

    func testDecode_nonStringDetail_throwsWrongTypeWithPath() {
        assertDecode(#"{"kind":"error","code":"x","message":"m","details":{"a":1}}"#,
                     throws: .wrongType(kind: "error", field: "details.a", expected: "a string"))
    }

    func testDecode_pongBusyWithoutSince_throwsMissingFieldWithPath() {
        assertDecode(#"{"kind":"pong","id":1,"busy":{"event":"e"}}"#,
                     throws: .missingField(kind: "pong", field: "busy.sinceMilliseconds"))
    }

    func testDecode_stringStopped_throwsWrongTypeBoolean() {
        assertDecode(#"{"kind":"emitResult","id":1,"stopped":"no"}"#,
                     throws: .wrongType(kind: "emitResult", field: "stopped", expected: "a boolean"))
    }

    func testDecode_objectMetadataAsArray_throwsWrongTypeObject() {
        assertDecode(#"{"kind":"log","level":"info","message":"m","metadata":[]}"#,
                     throws: .wrongType(kind: "log", field: "metadata", expected: "an object"))
    }

    func testDecode_pluginsAsString_throwsWrongTypeArray() {
        assertDecode(#"{"kind":"ready","enabledPlugins":"a","attachedPlugins":[]}"#,
                     throws: .wrongType(kind: "ready", field: "enabledPlugins", expected: "an array"))
    }

    func testWireError_descriptions_nameKindAndField() {
        XCTAssertEqual(WireError.missingField(kind: "emit", field: "event").description,
                       #""emit" message is missing required field "event""#)
        XCTAssertEqual(WireError.wrongType(kind: "emit", field: "id", expected: "an integer").description,
                       #""emit" message field "id" must be an integer"#)
        XCTAssertEqual(WireError.malformedJSON(offset: 3, reason: "expected a value").description,
                       "frame body is not well-formed JSON at byte offset 3: expected a value")
        XCTAssertEqual(WireError.unknownKind("frob").description, #"unknown message kind "frob" (protocol version 1)"#)
    }
}
