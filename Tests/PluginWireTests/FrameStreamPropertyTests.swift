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
            var stream: [UInt8] = []
            for message in sent { try MessageCodec.appendFrame(message, to: &stream) }

            var decoder = FrameDecoder()
            var received: [WireMessage] = []
            var offset = 0
            while offset < stream.count {
                let end = min(offset + Int.random(in: 1...300, using: &random), stream.count)
                decoder.append(stream[offset..<end])
                offset = end
                while let body = try decoder.nextFrame() { received.append(try MessageCodec.decode(body: body)) }
            }
            XCTAssertEqual(received, sent, "iteration \(iteration)")
        }
    }
}
