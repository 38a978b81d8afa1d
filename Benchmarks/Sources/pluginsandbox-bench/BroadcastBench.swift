import CBaselines
import Foundation
import PluginKit
import PluginSupervisor
import PluginWire
import Synchronization

/// `sessions.emit` to 100 and 1,000 live sessions, as deliveries per second, beside C: one
/// 100-byte frame to as many reader processes until each acked, in alternating rounds. The
/// engine's own broadcast (`host.broadcast`: one encoding, the same bytes to every worker) is
/// shown beside it.
struct BroadcastBench {
    let bench: Bench
    var options: BenchOptions { bench.options }

    func figures() async throws -> [Figure] {
        try await bench.withRuntime(spares: 0) { runtime, host in
            var figures: [Figure] = []
            var live = 0
            for fanOut in [100, 1000] {
                let spawned = try await spawnSessions(runtime, from: live, to: fanOut, prefix: "fan", concurrency: 8)
                live = fanOut
                note("broadcast: \(fanOut) sessions (spawned in \(String(format: "%.2f", spawned)) s)")
                let payload = try RawJSON(encoding: BenchEvent(sequence: 0, text: BenchPlugins.text))
                for round in 0..<3 {
                    _ = await runtime.context.sessions.emit(BenchEvent(sequence: round, text: BenchPlugins.text))
                    _ = await host.broadcast(event: BenchEvent.wireName, payload: payload)
                }
                let rounds = options.count(fanOut >= 1000 ? 40 : 200)
                let chunks = 5
                var ours: [UInt64] = [], engine: [UInt64] = [], c: [UInt64] = [], failed = 0
                for chunk in 0..<chunks {
                    let count = rounds / chunks
                    var floor = [UInt64](repeating: 0, count: count)
                    let result = cb_broadcast(Int32(fanOut), Int32(count), 100, &floor)
                    guard result == 0 else { throw BenchError(step: "cb_broadcast", code: result) }
                    c += floor
                    for round in 0..<count {
                        let start = now()
                        let results = await runtime.context.sessions.emit(BenchEvent(sequence: chunk * count + round, text: BenchPlugins.text))
                        ours.append(now() - start)
                        failed += results.values.filter { $0.envelope == nil }.count + (fanOut - results.count)
                    }
                    for _ in 0..<count {
                        let start = now()
                        let results = await host.broadcast(event: BenchEvent.wireName, payload: payload)
                        engine.append(now() - start)
                        failed += results.filter { if case .failure = $0.1 { return true } else { return false } }.count
                    }
                }
                let floor = Samples(c), floorRate = Double(fanOut) / floor.p50 * 1e9
                let target = fanOut >= 1000 ? 0.4 : 0.5
                for (name, values) in [("sessions.emit", ours), ("engine broadcast (host.broadcast, encoded once)", engine)] {
                    let samples = Samples(values)
                    let rate = Double(fanOut) / samples.p50 * 1e9
                    let isTarget = name == "sessions.emit"
                    figures.append(Figure(
                        name: "\(name) to \(fanOut.formatted()) sessions",
                        value: String(format: "%.0f deliveries/s (round p50 %@, p99 %@)", rate, milliseconds(samples.p50), milliseconds(samples.p99))
                            + (failed > 0 && isTarget ? " (\(failed) failed)" : ""),
                        baseline: String(format: "C broadcast to %d readers %.0f/s", fanOut, floorRate), ratio: ratio(rate, floorRate),
                        target: isTarget ? String(format: "≥ %.1f×", target) : "", met: isTarget ? verdict(rate >= target * floorRate && failed == 0) : "",
                        numbers: ["rate": rate, "baselineRate": floorRate, "p50": samples.p50, "p99": samples.p99, "failed": Double(failed)]))
                }
            }
            return figures
        }
    }
}

/// Creates sessions `prefix-from` ..< `prefix-to`, `concurrency` at a time; returns the seconds it
/// took. Without `failures` the first failure is thrown; with it, failures are reported and the
/// creation stops once `maximumFailures` have happened (a limit of the machine was reached).
@discardableResult
func spawnSessions(_ runtime: PluginRuntime, from: Int, to: Int, prefix: String, concurrency: Int, maximumFailures: Int = 20,
                   failures: (@Sendable (Int, any Error) -> Void)? = nil) async throws -> Double {
    let start = now()
    let failed = Counter()
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = from
        func add() {
            let index = next
            next += 1
            group.addTask {
                do {
                    _ = try await runtime.createSession(id: SessionID("\(prefix)-\(index)"))
                } catch {
                    guard let failures else { throw error }
                    failed.add()
                    failures(index, error)
                }
            }
        }
        while next < min(to, from + concurrency) { add() }
        while try await group.next() != nil {
            if next < to && failed.value < maximumFailures { add() }
        }
    }
    return Double(now() - start) / 1e9
}

/// A count shared between tasks.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
