import PluginWire
import XCTest

final class FrameStreamPropertyTests: XCTestCase {
    /// Random frames, split at random chunk boundaries, come out whole and in order.
    func testRandomStreams_splitAtRandomChunkBoundaries_decodeIdentically() throws {
        var random = SeededGenerator(seed: 0x5EED_0001)
        for iteration in 0..<500 {
            let frameCount = Int.random(in: 1...30, using: &random)
            let bodies: [[UInt8]] = (0..<frameCount).map { _ in
                let length = Int.random(in: 1...(Bool.random(using: &random) ? 16 : 3000), using: &random)
                return (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            }
            var stream: [UInt8] = []
            for body in bodies { FrameEncoder.append(body: body, to: &stream) }

            var decoder = FrameDecoder(maximumFrameLength: 3000)
            var decoded: [[UInt8]] = []
            var offset = 0
            while offset < stream.count {
                let chunk = Int.random(in: 1...(Bool.random(using: &random) ? 7 : 5000), using: &random)
                let end = min(offset + chunk, stream.count)
                if Bool.random(using: &random) {
                    stream[offset..<end].withUnsafeBytes { decoder.append($0) }
                } else {
                    decoder.append(stream[offset..<end])
                }
                offset = end
                while let body = try decoder.nextFrame() { decoded.append(Array(body)) }
            }
            XCTAssertEqual(decoded, bodies, "iteration \(iteration)")
            XCTAssertEqual(decoder.bufferedByteCount, 0, "iteration \(iteration)")
        }
    }

    /// Message frames split at random boundaries decode to the messages that were sent.
    func testRandomMessageStreams_splitAtRandomChunkBoundaries_decodeToSentMessages() throws {
        var random = SeededGenerator(seed: 0x5EED_0002)
        let samples = WireMessageSamples.all
        for iteration in 0..<200 {
            let sent = (0..<Int.random(in: 1...40, using: &random)).map { _ in samples.randomElement(using: &random) ?? .ping(Ping(id: 0)) }
            XCTAssertEqual(try sendAndReceive(sent, largestChunk: 300, using: &random), sent, "iteration \(iteration)")
        }
    }

    /// Frames carrying random JSON payloads (any whitespace, escapes, number forms, nesting),
    /// split at random boundaries, decode to the payload bytes that were sent.
    func testRandomPayloads_splitAtRandomChunkBoundaries_arriveVerbatim() throws {
        var random = SeededGenerator(seed: 0x5EED_0003)
        for iteration in 0..<200 {
            var sent: [WireMessage] = []
            for index in 0..<Int.random(in: 1...20, using: &random) {
                let text = RandomJSON.value(depth: 0, using: &random)
                let payload = try RawJSON(validating: Array(text.utf8))
                XCTAssertEqual(payload.bytes, Array(text.utf8), "generated payloads carry no surrounding whitespace")
                sent.append(Bool.random(using: &random)
                    ? .emit(Emit(id: UInt64(index), scope: .session, event: "E\(index)", payload: payload))
                    : .response(Response(id: UInt64(index), payload: payload)))
            }
            XCTAssertEqual(try sendAndReceive(sent, largestChunk: 64, using: &random), sent, "iteration \(iteration)")
        }
    }

    /// Frames `sent` into one stream, feeds it to a decoder in random chunks, decodes every frame.
    private func sendAndReceive(_ sent: [WireMessage], largestChunk: Int, using random: inout SeededGenerator) throws -> [WireMessage] {
        var stream: [UInt8] = []
        for message in sent { try MessageCodec.appendFrame(message, to: &stream) }
        var decoder = FrameDecoder()
        var received: [WireMessage] = []
        var offset = 0
        while offset < stream.count {
            let end = min(offset + Int.random(in: 1...largestChunk, using: &random), stream.count)
            decoder.append(stream[offset..<end])
            offset = end
            while let body = try decoder.nextFrame() { received.append(try MessageCodec.decode(body: body)) }
        }
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        return received
    }
}

/// Random, valid JSON text with the forms a strict decoder must get right.
enum RandomJSON {
    private static let strings = [#""""#, #""plain""#, #""\"q\" \\ \/ \b\f\n\r\t""#, #""\u00e9\u0000\ud83d\ude00""#,
                                  "\"é ✓ 😀 \u{2028}\"", #""0123456789abcdefghijklmnopqrstuvwxyz long enough for a vector or two""#]
    private static let numbers = ["0", "-0", "12", "-7", "3.25", "1e3", "2.5E-4", "1E+2", "18446744073709551615",
                                  "123456789012345678901234567890", "-0.0e0", "1e-400"]
    private static let spaces = ["", " ", "\n", "\t ", "\r\n  "]

    static func value(depth: Int, using random: inout SeededGenerator) -> String {
        let choices = depth >= 4 ? 4 : 6
        switch Int.random(in: 0..<choices, using: &random) {
        case 0: return ["null", "true", "false"].randomElement(using: &random) ?? "null"
        case 1: return numbers.randomElement(using: &random) ?? "0"
        case 2, 3: return strings.randomElement(using: &random) ?? #""""#
        case 4:
            let elements = (0..<Int.random(in: 0...4, using: &random)).map { _ in space(&random) + value(depth: depth + 1, using: &random) + space(&random) }
            return "[" + (elements.isEmpty ? space(&random) : elements.joined(separator: ",")) + "]"
        default:
            let members = (0..<Int.random(in: 0...4, using: &random)).map { index in
                space(&random) + "\"k\(index)\"" + space(&random) + ":" + space(&random) + value(depth: depth + 1, using: &random) + space(&random)
            }
            return "{" + (members.isEmpty ? space(&random) : members.joined(separator: ",")) + "}"
        }
    }

    private static func space(_ random: inout SeededGenerator) -> String {
        spaces.randomElement(using: &random) ?? ""
    }
}
