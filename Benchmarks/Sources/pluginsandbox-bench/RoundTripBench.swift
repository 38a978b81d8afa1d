import Foundation
import PluginKit

/// Round trips across the process boundary, each beside the C socketpair ping-pong of a 100-byte
/// frame measured in alternating rounds of the same run: quiet, then with two CPU hogs running
/// (the C baseline loaded the same way).
struct RoundTripBench {
    let bench: Bench
    var options: BenchOptions { bench.options }

    struct Measured {
        var c: [UInt64] = [], request: [UInt64] = [], emit: [UInt64] = [], trip: [UInt64] = []
    }

    func figures() async throws -> [Figure] {
        try await bench.withRuntime(spares: 0) { runtime, _ in
            let session = try await runtime.createSession(id: "round-trip")
            for index in 0..<500 {
                _ = try await session.request(BenchPing(sequence: index, text: BenchPlugins.text))
                _ = try await session.request(BenchGlobalTrip(sequence: index, text: BenchPlugins.text))
            }
            let quiet = try await measure(session)
            note("round trip: loaded (\(CPULoad.hogs) CPU hogs)")
            let loaded = try await CPULoad.withHogs { try await measure(session) }
            try await session.dispose()
            return rows(quiet, label: "") + rows(loaded, label: ", loaded (\(CPULoad.hogs) CPU hogs)")
        }
    }

    /// Alternating rounds: C ping-pong, request, emit, worker → global → worker.
    private func measure(_ session: PluginSession) async throws -> Measured {
        var measured = Measured()
        let rounds = 10
        let perRound = options.count(5000) / rounds
        for round in 0..<rounds {
            measured.c += try bench.cPingPong(iterations: perRound * 2)
            for index in 0..<perRound {
                let start = now()
                _ = try await session.request(BenchPing(sequence: round * perRound + index, text: BenchPlugins.text))
                measured.request.append(now() - start)
            }
            for index in 0..<perRound {
                let start = now()
                _ = try await session.emit(BenchEvent(sequence: round * perRound + index, text: BenchPlugins.text))
                measured.emit.append(now() - start)
            }
            for index in 0..<perRound {
                let start = now()
                _ = try await session.request(BenchGlobalTrip(sequence: round * perRound + index, text: BenchPlugins.text))
                measured.trip.append(now() - start)
            }
        }
        return measured
    }

    private func rows(_ measured: Measured, label: String) -> [Figure] {
        let c = Samples(measured.c)
        // Two round trips in a row: the sum of two samples, taken pairwise.
        let twoTrips = Samples(stride(from: 0, to: measured.c.count - 1, by: 2).map { measured.c[$0] + measured.c[$0 + 1] })
        let one = "C ping-pong 100 B " + percentiles(c, microseconds)
        func row(_ name: String, _ values: [UInt64], baseline: Samples, baselineText: String) -> Figure {
            let samples = Samples(values)
            return Figure(
                name: name + label, value: percentiles(samples, microseconds), baseline: baselineText,
                ratio: ratio(samples.p50, baseline.p50) + " (p99 " + ratio(samples.p99, baseline.p99) + ")",
                target: "p50 ≤ 2×", met: verdict(samples.p50 <= 2 * baseline.p50),
                numbers: ["p50": samples.p50, "p99": samples.p99, "baselineP50": baseline.p50, "baselineP99": baseline.p99])
        }
        return [
            row("request into a session (supervisor → worker → supervisor), 100 B", measured.request, baseline: c, baselineText: one),
            row("emit into a session, 100 B", measured.emit, baseline: c, baselineText: one),
            row("round trip worker → global bus → worker (inside a request), 100 B", measured.trip, baseline: twoTrips,
                baselineText: "2 C round trips " + percentiles(twoTrips, microseconds)),
        ]
    }
}
