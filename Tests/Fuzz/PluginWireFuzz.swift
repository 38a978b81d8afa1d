// libFuzzer entry point for the PluginWire decoder. Not a SwiftPM target: `.ci/fuzz` compiles
// this file together with Sources/PluginWire into one module (so there is no `import`).
//
// Every input is used twice:
// 1. as one frame body, decoded with MessageCodec (must throw a typed error or succeed;
//    a decoded message must re-encode and decode to an equal message);
// 2. as a byte stream fed to a FrameDecoder in uneven chunks, whose frames must equal
//    those of the same stream appended in one piece.

@_cdecl("LLVMFuzzerTestOneInput")
public func pluginWireFuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    checkBody(bytes)
    checkStream(bytes)
    return 0
}

private func checkBody(_ body: [UInt8]) {
    guard let message = try? MessageCodec.decode(body: body) else { return }
    do {
        let frame = try MessageCodec.encodeFrame(message)
        let again = try MessageCodec.decode(body: frame.dropFirst(WireLimits.headerLength))
        precondition(again == message, "re-encoded message differs: \(message) vs \(again)")
    } catch {
        preconditionFailure("decoded message does not re-encode: \(message): \(error)")
    }
}

private enum StreamOutcome: Equatable {
    case frames([[UInt8]], failure: FrameError?)
}

private func frames(of stream: [UInt8], chunkSizes: (Int) -> Int) -> StreamOutcome {
    var decoder = FrameDecoder(maximumFrameLength: 2048)
    var bodies: [[UInt8]] = []
    var offset = 0
    var step = 0
    repeat {
        let end = min(stream.count, offset + chunkSizes(step))
        decoder.append(stream[offset..<end])
        offset = end
        step += 1
        do {
            while let body = try decoder.nextFrame() {
                bodies.append(Array(body))
                _ = try? MessageCodec.decode(body: body)
            }
        } catch {
            return .frames(bodies, failure: error)
        }
    } while offset < stream.count
    precondition(decoder.bufferedByteCount <= 2048 + WireLimits.headerLength, "decoder kept more than one frame")
    return .frames(bodies, failure: nil)
}

private func checkStream(_ stream: [UInt8]) {
    let whole = frames(of: stream) { _ in stream.count }
    let seed = stream.first.map(Int.init) ?? 1
    let chunked = frames(of: stream) { step in 1 + (seed &+ step &* 7) % 13 }
    precondition(whole == chunked, "chunking changed the frames: \(whole) vs \(chunked)")
}
