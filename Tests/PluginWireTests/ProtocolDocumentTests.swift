import Foundation
import PluginWire
import XCTest

/// Keeps the DocC protocol specification honest: every JSON example in it must decode.
final class ProtocolDocumentTests: XCTestCase {
    private static let protocolDocument = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/PluginWire/PluginWire.docc/Protocol.md")

    /// The bodies of every ```json fenced block, in document order.
    private func jsonBlocks() throws -> [String] {
        let text = try String(contentsOf: Self.protocolDocument, encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == "```json" {
                current = []
            } else if let lines = current, line.trimmingCharacters(in: .whitespaces) == "```" {
                blocks.append(lines.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        XCTAssertNil(current, "unterminated ```json block")
        return blocks
    }

    func testEveryJSONExample_decodesWithMessageCodec() throws {
        let blocks = try jsonBlocks()
        XCTAssertGreaterThanOrEqual(blocks.count, 16)
        var kinds: Set<WireMessage.Kind> = []
        for block in blocks {
            do {
                let message = try MessageCodec.decode(body: Array(block.utf8))
                kinds.insert(message.kind)
            } catch {
                XCTFail("example does not decode: \(error)\n\(block)")
            }
        }
        XCTAssertEqual(kinds, Set(WireMessage.Kind.allCases), "every kind has an example")
    }

    func testHexFramingExample_decodesToThePingItDescribes() throws {
        let text = try String(contentsOf: Self.protocolDocument, encoding: .utf8)
        let hexLine = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("00 00 00 ") }, "hex example")
        let bytes = hexLine.split(separator: " ").compactMap { UInt8($0, radix: 16) }
        var decoder = FrameDecoder()
        decoder.append(bytes)
        let body = try XCTUnwrap(try decoder.nextFrame())
        XCTAssertEqual(try MessageCodec.decode(body: body), .ping(Ping(id: 7)))
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }
}
