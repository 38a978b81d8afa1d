// libFuzzer entry point for the PluginWire decoders. Not a SwiftPM target: `.ci/fuzz` compiles
// this file together with Sources/PluginWire into one module (so there is no `import`).
//
// Every input is used three times:
// 1. as one frame body, decoded with MessageCodec (must throw a typed error located inside the
//    input, or succeed; a decoded message must re-encode to a body that decodes to an equal
//    message and re-encodes to the same bytes);
// 2. as one JSON text, validated as RawJSON (an accepted value must validate again unchanged,
//    convert to a JSONValue tree and back to valid JSON, and decode through the payload coder
//    to the same tree);
// 3. as a byte stream fed to a FrameDecoder in uneven chunks, whose frames must equal those
//    of the same stream appended in one piece.

@_cdecl("LLVMFuzzerTestOneInput")
public func pluginWireFuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    checkBody(bytes)
    checkValue(bytes)
    checkStream(bytes)
    return 0
}

private func checkBody(_ body: [UInt8]) {
    let message: WireMessage
    do {
        message = try MessageCodec.decode(body: body)
    } catch {
        precondition((error.offset ?? 0) <= body.count, "error offset outside the body: \(error)")
        return
    }
    let encoded = MessageCodec.encodeBody(message)
    do {
        let again = try MessageCodec.decode(body: encoded)
        precondition(again == message, "re-encoded message differs: \(message) vs \(again)")
        precondition(MessageCodec.encodeBody(again) == encoded, "encoding is not stable for \(message)")
    } catch {
        preconditionFailure("a decoded message does not decode after encoding: \(message): \(error)")
    }
}

private func checkValue(_ bytes: [UInt8]) {
    let value: RawJSON
    do {
        value = try RawJSON(validating: bytes)
    } catch {
        precondition((error.offset ?? 0) <= bytes.count, "error offset outside the text: \(error)")
        return
    }
    do {
        let again = try RawJSON(validating: value.bytes)
        precondition(again == value, "validation is not stable for \(value)")
        let tree = JSONValue(value)
        let written = try RawJSON(validating: RawJSON(tree).bytes)
        precondition(JSONValue(written) == tree, "tree does not survive writing: \(value)")
        let decoded = try value.decode(JSONValue.self)
        precondition(decoded == tree, "payload coder and tree disagree on \(value)")
        // The same through the coder's containers rather than its JSONValue shortcut.
        let viaContainers = try JSONValue(from: ValueDecoder(input: JSONInput(bytes: value.bytes), offset: 0, codingPath: []))
        precondition(viaContainers == tree, "keyed/unkeyed decoding disagrees with the tree on \(value)")
        let encoded = try RawJSON(encoding: TreeThroughContainers(tree: tree))
        precondition(JSONValue(encoded) == tree, "encoding through containers changed \(value)")
    } catch {
        preconditionFailure("a validated value failed later: \(value): \(error)")
    }
}

/// Encodes a tree through `JSONValue.encode(to:)`, so the encoder's containers are used.
private struct TreeThroughContainers: Encodable {
    let tree: JSONValue

    func encode(to encoder: any Encoder) throws { try tree.encode(to: encoder) }
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
