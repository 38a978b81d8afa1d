import Foundation
import PluginWire
import XCTest

final class MessageRoundTripTests: XCTestCase {
    func testSamples_coverEveryKind() {
        XCTAssertEqual(Set(WireMessageSamples.all.map(\.kind)), Set(WireMessage.Kind.allCases))
        XCTAssertEqual(WireMessage.Kind.allCases.count, 16)
    }

    func testKind_rawValue_isTheWireString() throws {
        for message in WireMessageSamples.all {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(MessageCodec.encodeBody(message))) as? [String: Any])
            XCTAssertEqual(object["kind"] as? String, message.kind.rawValue)
            XCTAssertEqual("\(message.kind)", message.kind.rawValue)
        }
    }

    func testEncodeFrameThenDecode_everyMessage_returnsEqualMessage() throws {
        for message in WireMessageSamples.all {
            let frame = MessageCodec.encodeFrame(message)
            var decoder = FrameDecoder()
            decoder.append(frame)
            let body = try XCTUnwrap(try decoder.nextFrame(), "\(message.kind)")
            XCTAssertEqual(try MessageCodec.decode(body: body), message)
            XCTAssertEqual(decoder.bufferedByteCount, 0)
        }
    }

    func testDecode_rawBufferPointer_decodesLikeCollection() throws {
        for message in WireMessageSamples.all {
            let body = MessageCodec.encodeBody(message)
            XCTAssertEqual(try body.withUnsafeBytes { try MessageCodec.decode(body: $0) }, message)
        }
    }

    func testEncodeBody_everyMessage_isJSONFoundationReadsWithTheSameFields() throws {
        for message in WireMessageSamples.all {
            let body = MessageCodec.encodeBody(message)
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(body)), "\(message.kind): \(String(decoding: body, as: UTF8.self))")
        }
        let body = MessageCodec.encodeBody(.emit(Emit(id: 3, scope: .session, event: "E", payload: WireMessageSamples.json("1"))))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["kind", "id", "scope", "event", "payload"])
        XCTAssertEqual(object["scope"] as? String, "session")
    }

    func testEncodeFrame_splicesPayloadBytesVerbatim() throws {
        let text = #"{ "b" : [1, 2.50, -0, 1E+2, "\u00e9\ud83d\ude00"] , "a":null }"#
        let payload = try RawJSON(validating: Array(text.utf8))
        let frame = MessageCodec.encodeFrame(.emit(Emit(id: 1, scope: .global, event: "E", payload: payload)))
        let body = Array(frame.dropFirst(4))
        XCTAssertEqual(payload.bytes, Array(text.utf8))
        XCTAssertNotNil(body.firstRange(of: Array(text.utf8)), "payload bytes appear unchanged in the frame")
        guard case .emit(let emit) = try MessageCodec.decode(body: body) else { return XCTFail("not an emit") }
        XCTAssertEqual(emit.payload.bytes, Array(text.utf8))
    }

    func testEncodeFrame_headerAnnouncesBodyLength() throws {
        let frame = MessageCodec.encodeFrame(.ping(Ping(id: 7)))
        let body = Array(frame.dropFirst(4))
        XCTAssertEqual(Array(frame.prefix(4)), [0, 0, 0, UInt8(body.count)])
        XCTAssertEqual(String(decoding: body, as: UTF8.self), #"{"kind":"ping","id":7}"#)
    }

    func testEmitResult_absentPayloadAndNullPayload_stayDistinct() throws {
        let absent = try MessageCodec.decode(body: Array(#"{"kind":"emitResult","id":1,"handled":0,"stopped":false}"#.utf8))
        let null = try MessageCodec.decode(body: Array(#"{"kind":"emitResult","id":1,"handled":0,"stopped":false,"payload":null}"#.utf8))
        XCTAssertEqual(absent, .emitResult(EmitResult(id: 1, handled: 0, stopped: false, payload: nil)))
        XCTAssertEqual(null, .emitResult(EmitResult(id: 1, handled: 0, stopped: false, payload: .null)))
    }

    func testResponse_absentPayloadAndNullPayload_stayDistinct() throws {
        let absent = try MessageCodec.decode(body: Array(#"{"kind":"response","id":1}"#.utf8))
        let null = try MessageCodec.decode(body: Array(#"{"kind":"response","id":1,"payload":null}"#.utf8))
        XCTAssertEqual(absent, .response(Response(id: 1, payload: nil)))
        XCTAssertEqual(null, .response(Response(id: 1, payload: .null)))
    }

    func testDecode_optionalFieldsAsNull_readAsAbsent() throws {
        let message = try MessageCodec.decode(body: Array(
            #"{"kind":"request","id":1,"scope":"global","name":"n","identifier":null,"payload":1,"optional":false,"timeoutMilliseconds":null}"#.utf8))
        XCTAssertEqual(message, .request(Request(id: 1, scope: .global, name: "n", payload: WireMessageSamples.json("1"))))
    }

    func testDecode_unknownFieldsAndWhitespace_areIgnored() throws {
        let message = try MessageCodec.decode(body: Array(" \n{\"kind\" : \"ping\",\t\"sentAt\":{\"deep\":[1,{}]}, \"id\":2 }\r\n".utf8))
        XCTAssertEqual(message, .ping(Ping(id: 2)))
    }

    func testDecode_kindAfterOtherFields_andEscapedKeys_areRead() throws {
        let message = try MessageCodec.decode(body: Array(#"{"\u0069d":5,"k\u0069nd":"p\u006fng"}"#.utf8))
        XCTAssertEqual(message, .pong(Pong(id: 5)))
    }

    func testDecode_repeatedField_lastOneWins() throws {
        XCTAssertEqual(try MessageCodec.decode(body: Array(#"{"kind":"ping","id":1,"id":2}"#.utf8)), .ping(Ping(id: 2)))
    }

    func testDecode_integralNumberForms_areAcceptedAsIntegers() throws {
        XCTAssertEqual(try MessageCodec.decode(body: Array(#"{"kind":"ping","id":1e3}"#.utf8)), .ping(Ping(id: 1000)))
        XCTAssertEqual(try MessageCodec.decode(body: Array(#"{"kind":"ping","id":2.0}"#.utf8)), .ping(Ping(id: 2)))
        XCTAssertEqual(try MessageCodec.decode(body: Array(#"{"kind":"ping","id":18446744073709551615}"#.utf8)), .ping(Ping(id: .max)))
    }

    func testDecode_helloOfAnotherVersion_keepsVersionSoTheRefusalCanNameIt() throws {
        let v1 = #"{"kind":"hello","protocolVersion":1,"sessionID":"s","pid":7,"plugins":[],"sandboxLayers":[]}"#
        XCTAssertEqual(try MessageCodec.decode(body: Array(v1.utf8)), .hello(Hello(protocolVersion: 1, pid: 7, plugins: [], build: "")))
    }

    func testAppendFrame_twoMessagesInOneBuffer_decodeInOrder() throws {
        var buffer: [UInt8] = []
        try MessageCodec.appendFrame(.ping(Ping(id: 1)), to: &buffer)
        try MessageCodec.appendFrame(.pong(Pong(id: 1)), to: &buffer)
        var decoder = FrameDecoder()
        decoder.append(buffer)
        let first = try XCTUnwrap(try decoder.nextFrame())
        XCTAssertEqual(try MessageCodec.decode(body: first), .ping(Ping(id: 1)))
        let second = try XCTUnwrap(try decoder.nextFrame())
        XCTAssertEqual(try MessageCodec.decode(body: second), .pong(Pong(id: 1)))
        XCTAssertNil(try decoder.nextFrame())
    }

    func testAppendFrame_bodyOverMaximum_throwsFrameTooLongAndLeavesBufferUnchanged() throws {
        let message = WireMessage.log(LogRecord(level: "info", message: String(repeating: "x", count: 200)))
        let length = MessageCodec.encodeBody(message).count
        var buffer: [UInt8] = [1, 2, 3]
        XCTAssertThrowsError(try MessageCodec.appendFrame(message, to: &buffer, maximumFrameLength: 100)) { error in
            XCTAssertEqual(error as? WireError, .frameTooLong(kind: .log, length: length, maximum: 100))
        }
        XCTAssertEqual(buffer, [1, 2, 3])
    }

    func testAppendFrame_exactlyMaximum_isAccepted() throws {
        let message = WireMessage.ping(Ping(id: 7))
        let length = MessageCodec.encodeBody(message).count
        var buffer: [UInt8] = []
        try MessageCodec.appendFrame(message, to: &buffer, maximumFrameLength: length)
        XCTAssertEqual(buffer.count, length + 4)
    }

    func testEncodeBody_escapesStringsAsRFC8259Requires() {
        let body = MessageCodec.encodeBody(.bye(Bye(reason: "q\"b\\s/\u{0}\u{8}\u{C}\n\r\t\u{1F}é")))
        XCTAssertEqual(String(decoding: body, as: UTF8.self), #"{"kind":"bye","reason":"q\"b\\s/\u0000\b\f\n\r\t\u001fé"}"#)
    }
}
