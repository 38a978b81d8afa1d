import ArgumentParser
import FaultPlugins
import Foundation
import Logging
import PluginKit
import PluginSandbox
import PluginSupervisor
import Synchronization

/// `sandboxctl soak`: sessions under continuous sequenced traffic while random faults hit random
/// sessions; every healthy session must receive every message exactly once, in order.
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Run sessions under continuous traffic while injecting random faults; report losses (must be 0).",
        discussion: "Needs no supervisor. Example: sandboxctl soak --sessions 16 --seconds 10m --seed 42")

    @OptionGroup var output: OutputOptions

    @Option(help: "Sessions kept alive.") var sessions: Int = 8
    @Option(help: "How long to run (e.g. 30, 90s, 10m).") var seconds = HumanDuration(seconds: 30)
    @Option(help: "Seed of the fault choices.") var seed: UInt64 = 1
    @Option(help: "Faults per second.") var faultRate: Double = 2

    static let faults = ["segfault", "fatalError", "abort", "exit", "stackOverflow", "ptraceSupervisor", "fork", "exec",
                         "signalSupervisor", "garbageBytes", "oversizedFrame", "lieAboutSession", "closeSocket"]

    func validate() throws {
        guard sessions >= 2 else { throw ValidationError("--sessions must be at least 2") }
        guard seconds.seconds > 0 else { throw ValidationError("--seconds must be positive") }
    }

    func run() async throws {
        let host = try SandboxHost.shared
        try await Daemon.with(host, logger: Logger(label: "soak") { _ in SwiftLogNoOpLogHandler() }) { daemon in
            let runtime = daemon.runtime
            var generator = SeededGenerator(seed: seed)
            var spawnTimes: [Double] = []
            var roundTrips: [Double] = []
            var serial = 0
            func spawn() async throws -> PluginSession {
                serial += 1
                let start = ContinuousClock.now
                let session = try await runtime.createSession(id: SessionID("soak-\(serial)"))
                spawnTimes.append(Self.milliseconds(ContinuousClock.now - start))
                return session
            }
            var live: [SessionID: (session: PluginSession, firstTick: Int)] = [:]
            var sequence = 0
            for _ in 0..<sessions {
                let session = try await spawn()
                live[session.id] = (session, sequence + 1)
            }
            let rssStart = ProcessSample.read(pid: getpid())?.residentBytes ?? 0
            var faultsInjected = 0, sessionsLost = 0, messagesLost = 0, disorder = 0, unexpectedDeaths = 0
            let deadline = ContinuousClock.now + .milliseconds(Int64(seconds.seconds * 1000))
            var nextFault = ContinuousClock.now
            while ContinuousClock.now < deadline {
                sequence += 1
                let results = await runtime.context.sessions.emit(SoakTick(sequence: sequence))
                for (id, delivery) in results {
                    if case .failed = delivery, live[id] != nil { unexpectedDeaths += 1 }
                }
                if let target = live.values.randomElement(using: &generator)?.session {
                    let start = ContinuousClock.now
                    _ = try? await target.request(SoakReport())
                    roundTrips.append(Self.milliseconds(ContinuousClock.now - start))
                }
                if ContinuousClock.now >= nextFault, let victim = live.keys.sorted().randomElement(using: &generator), let entry = live[victim] {
                    nextFault = ContinuousClock.now + .milliseconds(Int64(1000 / max(faultRate, 0.01)))
                    let fault = Self.faults.randomElement(using: &generator) ?? "segfault"
                    live[victim] = nil
                    faultsInjected += 1
                    _ = try? await entry.session.emit(InjectFault(kind: fault))
                    sessionsLost += 1
                    let replacement = try await spawn()
                    live[replacement.id] = (replacement, sequence + 1)
                }
            }
            // Every live session must have seen every tick since it joined, once and in order.
            for (_, entry) in live {
                let report = try await entry.session.request(SoakReport())
                let expected = sequence - entry.firstTick + 1
                messagesLost += max(0, expected - report[0])
                disorder += report[2]
            }
            let rssEnd = ProcessSample.read(pid: getpid())?.residentBytes ?? 0
            let limit = daemon.host.startLimitStatus
            await runtime.dispose()
            let failed = messagesLost != 0 || disorder != 0 || unexpectedDeaths != 0
            if output.json {
                try printJSON([
                    "sessions": Double(sessions), "seconds": seconds.seconds, "seed": Double(seed), "ticks": Double(sequence),
                    "faultsInjected": Double(faultsInjected), "sessionsLost": Double(sessionsLost), "unexpectedDeaths": Double(unexpectedDeaths),
                    "messagesLost": Double(messagesLost), "outOfOrder": Double(disorder),
                    "startsDelayedByTheStartLimit": Double(limit?.delayedStarts ?? 0),
                ])
            }
            if output.json || output.quiet {
                if failed { throw ExitCode.failure }
                return
            }
            say("soak: \(sessions) sessions, \(String(format: "%.0f", seconds.seconds)) s, seed \(seed)")
            say("ticks broadcast:       \(sequence)")
            say("faults injected:       \(faultsInjected)")
            say("sessions lost:         \(sessionsLost) (all to injected faults)")
            say("unexpected deaths:     \(unexpectedDeaths)")
            say("messages lost:         \(messagesLost)")
            say("out of order:          \(disorder)")
            say("supervisor RSS:        \(rssStart >> 20) → \(rssEnd >> 20) MiB")
            say("spawn under fault:     p50 \(Self.percentile(spawnTimes, 50)) ms · p99 \(Self.percentile(spawnTimes, 99)) ms")
            if let limit, limit.engagements > 0 {
                // Two faults a second are ten crashes in five seconds: the start limit spaces the
                // replacements, and a replacement that waited for its turn counts that wait.
                say("start limit:           engaged \(limit.engagements)×, \(limit.delayedStarts) of \(spawnTimes.count) spawns waited for their turn")
            }
            say("round trip under fault: p50 \(Self.percentile(roundTrips, 50)) ms · p99 \(Self.percentile(roundTrips, 99)) ms")
            if failed { throw ExitCode.failure }
        }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    static func percentile(_ values: [Double], _ p: Double) -> String {
        guard !values.isEmpty else { return "-" }
        let sorted = values.sorted()
        let index = min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
        return String(format: "%.2f", sorted[index])
    }
}

/// A small deterministic generator (SplitMix64) so a soak run can be repeated.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
