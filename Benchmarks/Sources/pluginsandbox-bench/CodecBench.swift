import Foundation
import PluginWire

/// The codec rows: `MessageCodec` against framing alone, and the payload coder against
/// Foundation's, each measured in short alternating rounds of the same run. The best round of
/// each side counts: these are CPU-bound loops, and on a shared machine the slower rounds
/// measure the neighbours, not the code.
struct CodecBench {
    let options: BenchOptions

    private static let rounds = 11

    func figures() throws -> [Figure] {
        var figures: [Figure] = []
        for (label, size) in [("100 B", 100), ("64 KiB", 64 * 1024)] {
            let message = WireMessage.emit(Emit(id: 7, scope: .session, event: "BenchEvent", payload: try Self.payload(size: size)))
            let iterations = options.count(size > 1000 ? 4_000 : 200_000)
            let (rate, rawRate) = try best(
                { try codecRound(message, iterations: iterations) },
                { try framingRound(MessageCodec.encodeBody(message), iterations: iterations) })
            let target = size > 1000 ? "≥ 0.25× framing only" : "≥ 1,000,000 frames/s"
            let met = size > 1000 ? rate >= 0.25 * rawRate : rate >= 1_000_000
            figures.append(Figure(
                name: "codec encode+decode, \(label) event", value: String(format: "%.0f frames/s", rate),
                baseline: String(format: "framing only (no JSON) %.0f frames/s", rawRate), ratio: ratio(rate, rawRate),
                target: target, met: met ? "met" : "missed", numbers: ["rate": rate, "baselineRate": rawRate]))
        }
        let event = BenchPayload.sample
        let raw = try RawJSON(encoding: event)
        let data = Data(raw.bytes)
        let iterations = options.count(40_000)
        let (encode, foundationEncode) = try best(
            { try rate(iterations) { try RawJSON(encoding: event).bytes.count } },
            { let encoder = JSONEncoder(); return try rate(iterations) { try encoder.encode(event).count } })
        let (decode, foundationDecode) = try best(
            { try rate(iterations) { try raw.decode(BenchPayload.self).bytes } },
            { let decoder = JSONDecoder(); return try rate(iterations) { try decoder.decode(BenchPayload.self, from: data).bytes } })
        for (direction, ours, foundation) in [("encode", encode, foundationEncode), ("decode", decode, foundationDecode)] {
            figures.append(Figure(
                name: "payload Codable \(direction), \(raw.bytes.count) B struct", value: String(format: "%.0f ops/s", ours),
                baseline: String(format: "Foundation JSON%@coder %.0f ops/s", direction == "encode" ? "En" : "De", foundation),
                ratio: ratio(ours, foundation), target: "> 1× Foundation", met: ours > foundation ? "met" : "missed",
                numbers: ["rate": ours, "baselineRate": foundation]))
        }
        return figures
    }

    /// A payload of exactly `size` bytes: `{"text":"xxx…"}`.
    static func payload(size: Int) throws -> RawJSON {
        let filler = String(repeating: "x", count: size - #"{"text":""}"#.utf8.count)
        return try RawJSON(validating: Array(#"{"text":"\#(filler)"}"#.utf8))
    }

    /// The best rate of each of two measurements, taken in alternating rounds.
    private func best(_ measured: () throws -> Double, _ baseline: () throws -> Double) throws -> (Double, Double) {
        var ours = 0.0
        var theirs = 0.0
        for _ in 0..<Self.rounds {
            ours = max(ours, try measured())
            theirs = max(theirs, try baseline())
        }
        return (ours, theirs)
    }

    private func rate(_ iterations: Int, _ operation: () throws -> Int) throws -> Double {
        var sink = 0
        let start = now()
        for _ in 0..<iterations { sink &+= try operation() }
        let elapsed = Double(now() - start)
        if sink == 0 { print("") }
        return Double(iterations) / elapsed * 1e9
    }

    /// Encode a frame into a reused buffer, feed it to a frame decoder, decode the message.
    private func codecRound(_ message: WireMessage, iterations: Int) throws -> Double {
        var buffer: [UInt8] = []
        var decoder = FrameDecoder()
        return try rate(iterations) {
            buffer.removeAll(keepingCapacity: true)
            try MessageCodec.appendFrame(message, to: &buffer)
            decoder.append(buffer)
            guard let body = try decoder.nextFrame(), case .emit(let emit) = try MessageCodec.decode(body: body) else { return 0 }
            return emit.payload.bytes.count
        }
    }

    /// The same bytes framed and unframed, without JSON.
    private func framingRound(_ body: [UInt8], iterations: Int) throws -> Double {
        var buffer: [UInt8] = []
        var decoder = FrameDecoder()
        return try rate(iterations) {
            buffer.removeAll(keepingCapacity: true)
            FrameEncoder.append(body: body, to: &buffer)
            decoder.append(buffer)
            return try decoder.nextFrame()?.count ?? 0
        }
    }
}

/// A typical small event: about 100 bytes of JSON.
struct BenchPayload: Codable {
    var id: UInt64
    var name: String
    var path: String
    var bytes: Int
    var ratio: Double
    var ok: Bool
    var tags: [String]

    static let sample = BenchPayload(id: 12345, name: "DocumentSaved", path: "/notes/a.md", bytes: 2048, ratio: 0.25, ok: true, tags: ["a", "b"])
}
