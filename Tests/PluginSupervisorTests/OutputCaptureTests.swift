import XCTest
@testable import PluginSupervisor

final class OutputCaptureTests: XCTestCase {
    func testAppend_whenPastCapacity_keepsNewestBytesAndCountsDropped() {
        let capture = OutputCapture(capacity: 8)
        capture.append(Array("hello ".utf8))
        capture.append(Array("world!".utf8))
        XCTAssertEqual(capture.text, "o world!")
        XCTAssertEqual(capture.counts.total, 12)
        XCTAssertEqual(capture.counts.dropped, 4)
    }

    func testFollow_receivesChunksAppendedAfterItStarted() async {
        let capture = OutputCapture()
        capture.append(Array("before".utf8))
        let stream = capture.follow()
        capture.append(Array("after".utf8))
        capture.finish()
        var chunks: [String] = []
        for await chunk in stream { chunks.append(String(decoding: chunk, as: UTF8.self)) }
        XCTAssertEqual(chunks, ["after"])
    }
}
