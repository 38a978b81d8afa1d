import CBaselines
import Foundation
import PluginKit
import PluginSupervisor
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs every figure beside its baseline, section by section.
struct Bench {
    let options: BenchOptions
    let sandbox: Sandbox

    /// The sections, in the order they run (`--only` picks those whose name contains its text).
    static let sections = ["spawn", "spawn path", "plugin library", "round trip", "codec", "cgroup", "death", "broadcast", "attack", "fleet"]

    func run() async throws {
        var machine = Machine.current(command: CommandLine.arguments)
        note(machine.description)
        raiseDescriptorLimit()
        var figures: [Figure] = []
        for section in Self.sections where options.wants(section) {
            note("— \(section)")
            let made: [Figure]
            switch section {
            case "spawn": made = try await SpawnBench(bench: self).figures()
            case "spawn path": made = try await SpawnBreakdown(bench: self).figures()
            case "plugin library": made = try await LibraryBench(options: options).figures()
            case "round trip": made = try await RoundTripBench(bench: self).figures()
            case "codec": made = try CodecBench(options: options).figures()
            case "cgroup": made = try cgroupFigures()
            case "death": made = try await DeathBench(bench: self).figures()
            case "broadcast": made = try await BroadcastBench(bench: self).figures()
            case "attack": made = try await AttackBench(bench: self).figures()
            case "fleet": made = try await FleetBench(bench: self).figures()
            default: made = []
            }
            for var figure in made {
                figure.section = section
                note(render([figure]).split(separator: "\n").dropFirst().joined())
                figures.append(figure)
            }
        }
        machine.loadAverageAtEnd = Machine.loadAverage()

        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(BenchDocument(machine: machine, figures: figures, anomalies: Anomalies.shared.all)), as: UTF8.self))
        } else if options.markdown {
            print(machine.description)
            print()
            print(renderMarkdown(figures))
        } else {
            print(machine.description)
            print(render(figures))
        }
        if !options.json {
            for figure in figures { if let notes = figure.notes { print("note — \(figure.name): \(notes)") } }
            for anomaly in Anomalies.shared.all { print("anomaly: \(anomaly)") }
        }
    }

    /// Runs `body` with a runtime over sandboxed sessions of this benchmark's catalog, the
    /// bench global plugin attached; `adjust` changes the configuration (spares, limits).
    func withRuntime<Result: Sendable>(
        spares: Int = 0,
        _ adjust: (inout SandboxConfiguration) -> Void = { _ in },
        _ body: (PluginRuntime, SandboxedSessionHost) async throws -> Result
    ) async throws -> Result {
        var sandbox = self.sandbox
        sandbox.configuration.sparesPerProfile = spares
        sandbox.configuration.startLimit = options.startLimit
        adjust(&sandbox.configuration)
        return try await sandbox.withRuntime(globalPlugins: [BenchGlobalPlugin()], body)
    }

    /// 10,000 sessions hold about 40,000 descriptors in the supervisor: raise the soft and hard
    /// limits (root may) as far as `fs.nr_open` allows.
    private func raiseDescriptorLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let wanted: rlim_t = 262_144
        guard limit.rlim_cur < wanted else { return }
        var raised = rlimit(rlim_cur: wanted, rlim_max: max(wanted, limit.rlim_max))
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0 {
            raised = rlimit(rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised)
        }
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        note("RLIMIT_NOFILE raised to \(limit.rlim_cur) (hard \(limit.rlim_max))")
    }

    // MARK: C baselines

    func cPingPong(iterations: Int, size: Int = 100) throws -> [UInt64] {
        var samples = [UInt64](repeating: 0, count: iterations)
        let result = cb_pingpong(Int32(iterations), Int32(size), &samples)
        guard result == 0 else { throw BenchError(step: "cb_pingpong", code: result) }
        return samples
    }

    func cSpawn(_ path: String, _ arguments: [String], iterations: Int) throws -> Samples {
        var samples = [UInt64](repeating: 0, count: iterations)
        let argv = ([path] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = argv.map { UnsafePointer($0) } + [nil]
        let result = cb_spawn(path, &pointers, Int32(iterations), &samples)
        guard result == 0 else { throw BenchError(step: "cb_spawn \(path)", code: result) }
        return Samples(samples)
    }
}

/// What the benchmark saw go wrong in the engine (printed after the table, kept in the JSON).
final class Anomalies: Sendable {
    static let shared = Anomalies()
    private let seen = Mutex<[String: Int]>([:])

    func record(_ text: String) {
        note("anomaly: " + text)
        seen.withLock { $0[text, default: 0] += 1 }
    }

    var all: [String] { seen.withLock { $0.sorted { $0.key < $1.key }.map { "\($0.key) (×\($0.value))" } } }
}

/// A progress line on stderr (the table goes to stdout).
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

struct BenchError: Error, CustomStringConvertible {
    var step: String
    var code: Int32
    var description: String { code == 0 ? step : "\(step) failed: \(String(cString: strerror(-code)))" }
}

struct BenchDocument: Codable {
    var machine: Machine
    var figures: [Figure]
    var anomalies: [String]
}

/// When each session's `SessionCrashed` reached a global handler; a waiter is resumed at once.
final class CrashWatch: Sendable {
    private struct State {
        var seen: [String: UInt64] = [:]
        var waiters: [String: CheckedContinuation<UInt64, Never>] = [:]
    }
    private let state = Mutex(State())

    func saw(_ id: String) {
        let time = now()
        let waiter = state.withLock { state -> CheckedContinuation<UInt64, Never>? in
            state.seen[id] = time
            return state.waiters.removeValue(forKey: id)
        }
        waiter?.resume(returning: time)
    }

    /// When `id`'s crash was seen, or nil when it was not within `timeout`.
    func wait(for id: String, timeout: Duration = .seconds(10)) async -> UInt64? {
        let expiry = Task { [self] in
            try await Task.sleep(for: timeout)
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: .max)
        }
        defer { expiry.cancel() }
        let time = await withCheckedContinuation { continuation in
            let seen = state.withLock { state -> UInt64? in
                if let time = state.seen[id] { return time }
                state.waiters[id] = continuation
                return nil
            }
            if let seen { continuation.resume(returning: seen) }
        }
        return time == .max ? nil : time
    }
}
