import CBaselines
import Foundation
import PluginKit
import PluginSupervisor
#if canImport(Glibc)
import Glibc
#endif

/// death → SessionCrashed: `kill -9` of a worker until a global handler sees its
/// `SessionCrashed`, beside C (SIGKILL of a child until its pidfd polls readable), quiet and
/// with two CPU hogs running, in alternating rounds.
struct DeathBench {
    let bench: Bench
    var options: BenchOptions { bench.options }

    func figures() async throws -> [Figure] {
        // Every kill here is a crash: the start limit would space the starts after the tenth, and
        // the machine would be quieter around each death than in the runs before it existed.
        try await bench.withRuntime(spares: 0, { $0.startLimit = nil }) { runtime, host in
            let watch = CrashWatch()
            runtime.globalBus.on(SessionCrashed.self) { envelope in watch.saw(envelope.payload.sessionID.rawValue) }
            var figures: [Figure] = []
            for loaded in [false, true] {
                if loaded { note("death: loaded (\(CPULoad.hogs) CPU hogs)") }
                let measure = { () async throws -> ([UInt64], [UInt64], Int) in
                    var ours: [UInt64] = [], floor: [UInt64] = [], lost = 0
                    let rounds = 5
                    let perRound = options.count(100) / rounds
                    for round in 0..<rounds {
                        var c = [UInt64](repeating: 0, count: perRound)
                        let result = cb_pidfd_death(Int32(perRound), &c)
                        guard result == 0 else { throw BenchError(step: "cb_pidfd_death", code: result) }
                        floor += c
                        for index in 0..<perRound {
                            let id = "death-\(loaded ? "loaded" : "quiet")-\(round)-\(index)"
                            let session = try await runtime.createSession(id: SessionID(id))
                            guard let pid = host.summary(of: session.id)?.pid else { continue }
                            // The new session's start (lifecycle events, bookkeeping) is over.
                            try await Task.sleep(for: .milliseconds(10))
                            let start = now()
                            kill(pid, SIGKILL)
                            if let seen = await watch.wait(for: id) { ours.append(seen - start) } else { lost += 1 }
                        }
                    }
                    return (ours, floor, lost)
                }
                let (ours, floor, lost) = loaded ? try await CPULoad.withHogs(measure) : try await measure()
                let samples = Samples(ours), c = Samples(floor)
                let limit = loaded ? 10e6 : 2e6
                figures.append(Figure(
                    name: "death → SessionCrashed seen by a global handler" + (loaded ? ", loaded (\(CPULoad.hogs) CPU hogs)" : ""),
                    value: percentiles(samples, microseconds) + (lost > 0 ? " (\(lost) never seen)" : ""),
                    baseline: "C pidfd " + percentiles(c, microseconds), ratio: ratio(samples.p99, c.p99) + " (p99)",
                    target: loaded ? "p99 ≤ 10 ms" : "p99 ≤ 2 ms", met: verdict(samples.p99 <= limit && lost == 0),
                    numbers: ["p50": samples.p50, "p99": samples.p99, "baselineP50": c.p50, "baselineP99": c.p99, "lost": Double(lost)]))
            }
            return figures
        }
    }
}
