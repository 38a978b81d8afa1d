import FaultPlugins
import Foundation
import PluginKit
import PluginSupervisor
import Synchronization

/// Bystanders under attack: a bystander session's request round trip while one attacker
/// session floods one channel, beside the same bystander with no attacker in the window just
/// before (same run, same host). Target: p99 under attack ≤ 3× p99 without.
///
/// An attack that the supervisor ends (a breach, a memory limit) is repeated by a new attacker
/// as soon as the last one ended, for the whole window: the bystander sees the flood, the kill
/// and the next attacker's start (taken from the warm spare). Those ends are crashes, so the
/// runtime's start limit (``StartLimit``, on by default) spaces the starts once ten attackers
/// crashed, as it would for a host that starts a session per request; `--start-limit off` runs
/// the same rows without it. The churn control row kills its attackers (not crashes): never spaced. A sustained attack (valid traffic
/// as fast as the limits allow, output, CPU) runs in one attacker for the whole window.
struct AttackBench {
    let bench: Bench
    var options: BenchOptions { bench.options }

    enum Mode {
        /// `InjectFault(kind, argument)` in one attacker after another, each until it is ended.
        case untilEnded(kind: String, argument: Int?)
        /// One attacker, sent these events once, living through the window.
        case sustained([any WireEvent])
        /// Attackers started and killed one after another, sending nothing: the cost of the churn.
        case churn
        /// No session at all: the smallest process there is (`posix_spawn` of `/bin/true`, waited
        /// for) started at the rate the churn row started attackers. The machine's own floor for
        /// that much process churn, beside which the churn rows can be read.
        case processChurn
    }

    struct Attack {
        var channel: String
        var mode: Mode
    }

    var attacks: [Attack] {
        let seconds = window.seconds + 2
        return [
            Attack(channel: "control: attacker churn only (start, kill, repeat)", mode: .churn),
            Attack(channel: "control: plain process churn (posix_spawn /bin/true at the attackers' rate)", mode: .processChurn),
            Attack(channel: "session socket: pong flood (pongs answering no ping)", mode: .untilEnded(kind: "pongFlood", argument: nil)),
            Attack(channel: "session socket: error frame flood", mode: .untilEnded(kind: "errorFlood", argument: nil)),
            Attack(channel: "session socket: cancel flood (calls that do not exist)", mode: .untilEnded(kind: "cancelFlood", argument: nil)),
            Attack(channel: "session socket: reply flood (replies nobody asked for)", mode: .untilEnded(kind: "replyFlood", argument: nil)),
            Attack(channel: "session socket: log record flood", mode: .untilEnded(kind: "frameFlood", argument: nil)),
            Attack(channel: "session socket: log bytes flood (60 KB records)", mode: .untilEnded(kind: "logBytesFlood", argument: nil)),
            Attack(channel: "session socket: log records within the limits (450/s)", mode: .sustained([SustainedFlood(kind: "logs", seconds: seconds)])),
            Attack(channel: "global bus: emit flood past the limits", mode: .untilEnded(kind: "globalCallFlood", argument: 100_000)),
            Attack(channel: "global bus: emits within the limits (≤ 1,800/s, 128 in flight)",
                   mode: .sustained([SustainedFlood(kind: "globalEmits", seconds: seconds)])),
            Attack(channel: "global bus: requests within the limits (≤ 1,800/s, 128 in flight)",
                   mode: .sustained([SustainedFlood(kind: "globalRequests", seconds: seconds)])),
            Attack(channel: "global bus: 256 KiB emits within the byte limit (≤ 48 MiB/s)",
                   mode: .sustained([SustainedFlood(kind: "largeEmits", seconds: seconds)])),
            Attack(channel: "output pipe: stdout flood", mode: .sustained([InjectFault(kind: "outputFlood", argument: 10_000_000)])),
            Attack(channel: "CPU: 4 spinning threads (quota: one CPU, at most 25% of the machine)",
                   mode: .sustained(Array(repeating: InjectFault(kind: "spinThread"), count: 4))),
            Attack(channel: "memory: burst past the limit (256 MiB)", mode: .untilEnded(kind: "memoryBurst", argument: 4096)),
        ]
    }

    var window: Duration { options.quick ? .seconds(1) : .seconds(3) }

    func figures() async throws -> [Figure] {
        try await bench.withRuntime(spares: 1, { $0.prewarmedProfiles = ["default"] }) { runtime, host in
            var bystander = try await runtime.createSession(id: "bystander")
            for index in 0..<500 { _ = try await bystander.request(BenchPing(sequence: index, text: BenchPlugins.text)) }
            var figures: [Figure] = []
            // Processes a second for the plain churn row: the attackers' rate when the churn row ran.
            var churnRate = 80.0
            for (number, attack) in attacks.enumerated() where options.wantsRow(attack.channel) {
                try await Task.sleep(for: .milliseconds(300))
                let quiet = await measure(bystander, for: window)
                let report = AttackReport()
                let delayedBefore = host.startLimitStatus?.delayedStarts ?? 0
                let stop = StopFlag()
                let rate = churnRate
                let attacker = Task { await run(attack, number: number, runtime: runtime, host: host, stop: stop, report: report, processRate: rate) }
                try await Task.sleep(for: .milliseconds(100))
                let under = await measure(bystander, for: window)
                stop.set()
                await attacker.value
                if case .churn = attack.mode, report.attackers > 0 { churnRate = Double(report.attackers) / window.seconds }
                let without = Samples(quiet.samples), with = Samples(under.samples)
                let failures = quiet.failures + under.failures
                // The requests that overlapped a flood itself (an attacker between its attack and
                // its end), apart from the starts and kills between attackers.
                let floods = report.floods
                let duringFloods = Samples(zip(under.starts, under.samples).filter { start, duration in
                    floods.contains { start <= $0.end && start + duration >= $0.start }
                }.map(\.1))
                var summary = report.summary
                let delayed = (host.startLimitStatus?.delayedStarts ?? 0) - delayedBefore
                if delayed > 0 { summary += "; \(delayed) starts spaced by the start limit" }
                if case .untilEnded = attack.mode, !duringFloods.values.isEmpty {
                    summary += "; requests overlapping a flood: \(percentiles(duringFloods, microseconds)), \(duringFloods.values.count) of \(with.values.count)"
                }
                note("attack \(attack.channel): \(summary)")
                figures.append(Figure(
                    name: "bystander request under attack — \(attack.channel)",
                    value: percentiles(with, microseconds) + (failures > 0 ? " (\(failures) bystander failures)" : ""),
                    baseline: "no attacker " + percentiles(without, microseconds),
                    ratio: ratio(with.p99, without.p99) + " (p99)", target: "p99 ≤ 3×",
                    met: verdict(with.p99 <= 3 * without.p99 && failures == 0),
                    numbers: ["p50": with.p50, "p99": with.p99, "baselineP50": without.p50, "baselineP99": without.p99,
                              "samples": Double(with.values.count), "baselineSamples": Double(without.values.count),
                              "attackers": Double(report.attackers), "bystanderFailures": Double(failures),
                              "duringFloodsP50": duringFloods.p50, "duringFloodsP99": duringFloods.p99,
                              "duringFloodsSamples": Double(duringFloods.values.count)],
                    notes: summary))
                if under.failures > 0 || host.summary(of: bystander.id)?.pid == nil {
                    note("the bystander died: a new one serves the next rows")
                    bystander = try await runtime.createSession(id: SessionID("bystander-\(number)"))
                }
            }
            return figures
        }
    }

    /// The bystander's request round trips during `duration`.
    private func measure(_ session: PluginSession, for duration: Duration) async -> (samples: [UInt64], starts: [UInt64], failures: Int) {
        var samples: [UInt64] = []
        var starts: [UInt64] = []
        var failures = 0
        let end = ContinuousClock.now + duration
        var sequence = 0
        while ContinuousClock.now < end {
            sequence += 1
            let start = now()
            do {
                _ = try await session.request(BenchPing(sequence: sequence, text: BenchPlugins.text))
                samples.append(now() - start)
                starts.append(start)
            } catch {
                failures += 1
                if failures == 1 { Anomalies.shared.record("a bystander request failed: \(error)") }
                if failures > 20 { break }
            }
        }
        return (samples, starts, failures)
    }

    private static func send<E: WireEvent>(_ event: E, to session: PluginSession) async {
        _ = try? await session.emit(event)
    }

    /// Runs `attack` until `stop`: one attacker after another, or one for the whole window.
    private func run(_ attack: Attack, number: Int, runtime: PluginRuntime, host: SandboxedSessionHost,
                     stop: StopFlag, report: AttackReport, processRate: Double) async {
        if case .processChurn = attack.mode {
            // On a thread of its own: waiting for each child must not hold a thread of the pool the
            // bystander's requests resume on.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                Thread.detachNewThread {
                    let interval = 1 / max(processRate, 1)
                    var next = Date()
                    while !stop.isSet {
                        var pid: pid_t = 0
                        let path = "/bin/true"
                        let spawned = path.withCString { command -> Int32 in
                            var argv: [UnsafeMutablePointer<CChar>?] = [strdup(command), nil]
                            defer { free(argv[0]) }
                            return posix_spawn(&pid, command, nil, nil, &argv, environ)
                        }
                        if spawned == 0 {
                            var status: Int32 = 0
                            waitpid(pid, &status, 0)
                            report.started()
                            report.record("exited")
                        } else {
                            report.record("posix_spawn failed: \(spawned)")
                        }
                        next += interval
                        let wait = next.timeIntervalSinceNow
                        if wait > 0 { Thread.sleep(forTimeInterval: wait) } else { next = Date() }
                    }
                    done.resume()
                }
            }
            return
        }
        var index = 0
        while !stop.isSet {
            index += 1
            let id = SessionID("attacker-\(number)-\(index)")
            let attacker: PluginSession
            do {
                attacker = try await runtime.createSession(id: id)
            } catch {
                report.record("attacker failed to start: \(error)")
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            report.started()
            switch attack.mode {
            case .churn:
                _ = try? await host.kill(id)
                report.record("killedByOperator")
            case .processChurn:
                return
            case .untilEnded(let kind, let argument):
                let floodStart = now()
                defer { report.flood(from: floodStart, to: now()) }
                do {
                    _ = try await attacker.emit(InjectFault(kind: kind, argument: argument))
                    report.record("handler returned: attacker lives")
                    _ = try? await host.kill(id)
                } catch let error as SessionError {
                    report.record(error.cause.map { "\($0.kind)" } ?? "\(error.code)")
                } catch {
                    report.record("\(error)")
                }
            case .sustained(let events):
                // Fire and forget: a handler that blocks (the output flood) must not hold the loop.
                let sends = Task {
                    for event in events { await Self.send(event, to: attacker) }
                }
                let started = now()
                while !stop.isSet {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                if events.contains(where: { $0 is SustainedFlood }), let counts = try? await attacker.request(FloodReport()), counts.count == 2 {
                    let seconds = Double(now() - started) / 1e9
                    report.record(String(format: "sent %d valid messages (%.0f/s), %d refused", counts[0], Double(counts[0]) / seconds, counts[1]))
                }
                let cause = try? await host.kill(id)
                report.record(cause.map { $0.kind == .killedByOperator ? "lived through the window" : "\($0.kind)" } ?? "ended before the window did")
                sends.cancel()
                return
            }
        }
    }
}

/// Set once, read from any task.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}

/// What happened to the attackers of one row.
final class AttackReport: Sendable {
    private let state = Mutex((attackers: 0, outcomes: [String: Int](), floods: [(start: UInt64, end: UInt64)]()))

    func started() { state.withLock { $0.attackers += 1 } }
    /// An attacker flooded from `start` until it was ended at `end` (``now()`` times).
    func flood(from start: UInt64, to end: UInt64) { state.withLock { $0.floods.append((start, end)) } }
    var floods: [(start: UInt64, end: UInt64)] { state.withLock { $0.floods } }
    func record(_ outcome: String) { state.withLock { $0.outcomes[outcome, default: 0] += 1 } }

    var attackers: Int { state.withLock { $0.attackers } }

    /// `N attackers: cause ×count, ...`.
    var summary: String {
        state.withLock { state in
            "\(state.attackers) attacker(s): " + state.outcomes.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
