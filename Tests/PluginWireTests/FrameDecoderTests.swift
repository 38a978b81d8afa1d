import PluginWire
import XCTest

final class FrameDecoderTests: XCTestCase {
    func testEncode_body_prefixesBigEndianLength() {
        let frame = FrameEncoder.encode(body: Array(repeating: UInt8(0x61), count: 0x0102))
        XCTAssertEqual(Array(frame.prefix(4)), [0x00, 0x00, 0x01, 0x02])
        XCTAssertEqual(frame.count, 4 + 0x0102)
    }

    func testAppendBody_existingBuffer_keepsEarlierBytes() {
        var buffer: [UInt8] = [9]
        FrameEncoder.append(body: [0x7B, 0x7D], to: &buffer)
        XCTAssertEqual(buffer, [9, 0, 0, 0, 2, 0x7B, 0x7D])
    }

    func testNextFrame_whenEmpty_returnsNil() throws {
        var decoder = FrameDecoder()
        XCTAssertNil(try decoder.nextFrame())
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testNextFrame_whenHeaderIncomplete_returnsNilAndKeepsBytes() throws {
        var decoder = FrameDecoder()
        decoder.append([0, 0, 0])
        XCTAssertNil(try decoder.nextFrame())
        XCTAssertEqual(decoder.bufferedByteCount, 3)
    }

    func testNextFrame_whenBodyIncomplete_returnsNilUntilLastByteArrives() throws {
        var decoder = FrameDecoder()
        decoder.append([0, 0, 0, 3, 0x41, 0x42])
        XCTAssertNil(try decoder.nextFrame())
        decoder.append([0x43])
        XCTAssertEqual(try decoder.nextFrame().map(Array.init), [0x41, 0x42, 0x43])
        XCTAssertNil(try decoder.nextFrame())
    }

    func testNextFrame_manyFramesInOneAppend_returnsEachInOrder() throws {
        var stream: [UInt8] = []
        for index in 1...5 { FrameEncoder.append(body: Array(repeating: UInt8(index), count: index), to: &stream) }
        var decoder = FrameDecoder()
        decoder.append(stream)
        for index in 1...5 {
            XCTAssertEqual(try decoder.nextFrame().map(Array.init), Array(repeating: UInt8(index), count: index))
        }
        XCTAssertNil(try decoder.nextFrame())
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testAppend_rawBufferPointer_decodesLikeArray() throws {
        let frame = FrameEncoder.encode(body: Array("{}".utf8))
        var decoder = FrameDecoder()
        frame.withUnsafeBytes { decoder.append($0) }
        XCTAssertEqual(try decoder.nextFrame().map(Array.init), Array("{}".utf8))
    }

    func testNextFrame_zeroLengthHeader_throwsZeroLength() {
        var decoder = FrameDecoder()
        decoder.append([0, 0, 0, 0])
        XCTAssertThrowsError(try decoder.nextFrame()) { XCTAssertEqual($0 as? FrameError, .zeroLength) }
    }

    func testNextFrame_oversizeHeaderAlone_throwsTooLongBeforeBodyArrives() {
        var decoder = FrameDecoder(maximumFrameLength: 16)
        decoder.append([0, 0, 0, 17])
        XCTAssertThrowsError(try decoder.nextFrame()) {
            XCTAssertEqual($0 as? FrameError, .tooLong(length: 17, maximum: 16))
        }
    }

    func testNextFrame_largestHeader_throwsTooLongWithFullLength() {
        var decoder = FrameDecoder()
        decoder.append([0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try decoder.nextFrame()) {
            XCTAssertEqual($0 as? FrameError, .tooLong(length: Int(UInt32.max), maximum: 1 << 20))
        }
    }

    func testNextFrame_exactlyMaximum_isAccepted() throws {
        var decoder = FrameDecoder(maximumFrameLength: 8)
        decoder.append(FrameEncoder.encode(body: Array(repeating: UInt8(1), count: 8)))
        XCTAssertEqual(try decoder.nextFrame()?.count, 8)
    }

    func testNextFrame_afterError_keepsThrowingSameErrorAndIgnoresInput() {
        var decoder = FrameDecoder()
        decoder.append([0, 0, 0, 0, 1, 2, 3])
        XCTAssertThrowsError(try decoder.nextFrame())
        decoder.append(FrameEncoder.encode(body: Array("{}".utf8)))
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        XCTAssertThrowsError(try decoder.nextFrame()) { XCTAssertEqual($0 as? FrameError, .zeroLength) }
    }

    func testNextFrame_validFrameThenZeroLength_returnsFrameThenThrows() throws {
        var decoder = FrameDecoder()
        decoder.append(FrameEncoder.encode(body: [0x31]) + [0, 0, 0, 0])
        XCTAssertEqual(try decoder.nextFrame().map(Array.init), [0x31])
        XCTAssertThrowsError(try decoder.nextFrame()) { XCTAssertEqual($0 as? FrameError, .zeroLength) }
    }

    func testBufferedByteCount_drainedAfterEachRead_staysBelowOneFramePlusOneRead() throws {
        var decoder = FrameDecoder(maximumFrameLength: 1024)
        let frame = FrameEncoder.encode(body: Array(repeating: UInt8(7), count: 1000))
        var stream: [UInt8] = []
        for _ in 0..<200 { stream += frame }
        var frames = 0
        var offset = 0
        while offset < stream.count {
            let end = min(offset + 333, stream.count)
            decoder.append(stream[offset..<end])
            offset = end
            while let body = try decoder.nextFrame() {
                XCTAssertEqual(body.count, 1000)
                frames += 1
            }
            XCTAssertLessThan(decoder.bufferedByteCount, frame.count)
        }
        XCTAssertEqual(frames, 200)
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testFrameError_descriptions_nameTheLimit() {
        XCTAssertEqual(FrameError.tooLong(length: 20, maximum: 10).description,
                       "frame header announces 20 bytes, more than the maximum of 10 bytes")
        XCTAssertTrue(FrameError.zeroLength.description.contains("length of 0"))
    }
}
