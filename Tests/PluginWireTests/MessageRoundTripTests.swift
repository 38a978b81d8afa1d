import Foundation
import PluginWire
import XCTest

final class MessageRoundTripTests: XCTestCase {
    func testSamples_coverEveryKind() {
        XCTAssertEqual(Set(WireMessageSamples.all.map(\.kind)), Set(WireMessage.kinds))
        XCTAssertEqual(WireMessage.kinds.count, 16)
    }

    func testEncodeFrameThenDecode_everyMessage_returnsEqualMessage() throws {
        for message in WireMessageSamples.all {
            let frame = try MessageCodec.encodeFrame(message)
            var decoder = FrameDecoder()
            decoder.append(frame)
            let body = try XCTUnwrap(try decoder.nextFrame(), "\(message.kind)")
            XCTAssertEqual(try MessageCodec.decode(body: body), message)
            XCTAssertEqual(decoder.bufferedByteCount, 0)
        }
    }

    func testEncodeFrame_headerAnnouncesBodyLength() throws {
        let frame = try MessageCodec.encodeFrame(.ping(Ping(id: 7)))
        let body = Array(frame.dropFirst(4))
        XCTAssertEqual(Array(frame.prefix(4)), [0, 0, 0, UInt8(body.count)])
        XCTAssertEqual(try MessageCodec.decode(body: body), .ping(Ping(id: 7)))
    }

    func testEncodeBody_isFlatObjectWithKindDiscriminator() throws {
        let body = try MessageCodec.encodeBody(.emit(Emit(id: 3, scope: .session, event: "E", payload: .int(1))))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["kind", "id", "scope", "event", "payload"])
        XCTAssertEqual(object["kind"] as? String, "emit")
        XCTAssertEqual(object["scope"] as? String, "session")
    }

    func testResponse_absentPayloadAndNullPayload_stayDistinct() throws {
        let absent = try MessageCodec.decode(body: Array(#"{"kind":"response","id":1}"#.utf8))
        let null = try MessageCodec.decode(body: Array(#"{"kind":"response","id":1,"payload":null}"#.utf8))
        XCTAssertEqual(absent, .response(Response(id: 1, payload: nil)))
        XCTAssertEqual(null, .response(Response(id: 1, payload: .null)))
    }

    func testDecode_unknownExtraFields_areIgnored() throws {
        let message = try MessageCodec.decode(body: Array(#"{"kind":"ping","id":2,"sentAt":"later"}"#.utf8))
        XCTAssertEqual(message, .ping(Ping(id: 2)))
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

    func testEncodeFrame_bodyOverMaximum_throwsFrameTooLongAndLeavesBufferUnchanged() throws {
        let message = WireMessage.log(LogRecord(level: "info", message: String(repeating: "x", count: 200)))
        let length = try MessageCodec.encodeBody(message).count
        var buffer: [UInt8] = [1, 2, 3]
        XCTAssertThrowsError(try MessageCodec.appendFrame(message, to: &buffer, maximumFrameLength: 100)) { error in
            XCTAssertEqual(error as? WireError, .frameTooLong(kind: "log", length: length, maximum: 100))
        }
        XCTAssertEqual(buffer, [1, 2, 3])
    }

    func testEncodeFrame_nonFiniteDouble_throwsUnencodableNamingKind() {
        let message = WireMessage.emit(Emit(id: 1, scope: .global, event: "E", payload: .double(.nan)))
        XCTAssertThrowsError(try MessageCodec.encodeFrame(message)) { error in
            guard case .unencodable(let kind, _) = error as? WireError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(kind, "emit")
        }
    }
}
