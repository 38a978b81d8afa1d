import CBaselines
import Foundation
import PluginKit
import PluginSandbox
import PluginSupervisor
import PluginWire

/// Runs every figure beside its baseline.
struct Bench {
    let options: BenchOptions
    let sandbox: Sandbox

    func run() async throws {
        var sandbox = self.sandbox
        sandbox.configuration.sparesPerProfile = 0
        try await sandbox.withRuntime(globalPlugins: [BenchGlobalPlugin()]) { runtime, host in try await run(runtime: runtime, host: host) }
    }

    func run(runtime: PluginRuntime, host: SandboxedSessionHost) async throws {
        var figures: [Figure] = []
        let profile = try ProfileCatalog().profile(named: "default")
        let cRoundTrip = try cPingPong(iterations: options.count(20_000), size: 100)

        if options.wants("spawn") { figures += try await spawnFigures(runtime: runtime, profile: profile) }
        if options.wants("round trip") || options.wants("emit") {
            figures += try await roundTripFigures(runtime: runtime, cRoundTrip: cRoundTrip)
        }
        if options.wants("codec") { figures += try CodecBench(options: options).figures() }
        if options.wants("plugin library") { figures += try await LibraryBench(options: options).figures() }
        if options.wants("cgroup") { figures += try cgroupFigures() }
        if options.wants("death") { figures += try await deathFigure(runtime: runtime, host: host) }
        if options.wants("sessions") || options.wants("broadcast") || options.wants("memory") {
            figures += try await fleetFigures(runtime: runtime, host: host)
        }
        await runtime.dispose()
        await host.shutdown()

        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let document = BenchDocument(machine: Machine.current, figures: figures)
            print(String(decoding: try encoder.encode(document), as: UTF8.self))
        } else {
            print(Machine.current.description)
            print(render(figures))
        }
    }

    // MARK: Spawn

    private func spawnFigures(runtime: PluginRuntime, profile: SandboxProfile) async throws -> [Figure] {
        let trueSpawn = try cSpawn("/bin/true", [], iterations: options.count(200))
        var zygote: [UInt64] = []
        for index in 0..<options.count(200) {
            let start = now()
            let session = try await runtime.createSession(id: SessionID("spawn-\(index)"))
            zygote.append(now() - start)
            try await session.dispose()
        }
        let zygoteSamples = Samples(zygote)
        var figures = [Figure(
            name: "spawn → ready, zygote (plugins attached, confined)", value: percentiles(zygoteSamples, milliseconds),
            baseline: "posix_spawn /bin/true " + percentiles(trueSpawn, milliseconds), ratio: ratio(zygoteSamples.p50, trueSpawn.p50),
            target: "p50 ≤ 2 ms, p99 ≤ 5 ms", met: zygoteSamples.p50 <= 2e6 && zygoteSamples.p99 <= 5e6 ? "met" : "missed",
            numbers: ["p50": zygoteSamples.p50, "p99": zygoteSamples.p99, "baselineP50": trueSpawn.p50])]

        var execConfiguration = sandbox.configuration
        execConfiguration.spawnMode = .exec
        let execHost = try SandboxedSessionHost(configuration: execConfiguration)
        let execRuntime = try await PluginRuntime(globalPlugins: [BenchGlobalPlugin()], sessionPlugins: BenchPlugins.catalog, host: execHost)
        var exec: [UInt64] = []
        for index in 0..<options.count(50) {
            let start = now()
            let session = try await execRuntime.createSession(id: SessionID("exec-\(index)"))
            exec.append(now() - start)
            try await session.dispose()
        }
        await execRuntime.dispose()
        await execHost.shutdown()
        let execSamples = Samples(exec)
        figures.append(Figure(
            name: "spawn → ready, posix_spawn of own executable", value: percentiles(execSamples, milliseconds),
            baseline: "zygote " + percentiles(zygoteSamples, milliseconds), ratio: ratio(execSamples.p50, zygoteSamples.p50),
            target: "fallback", met: "", numbers: ["p50": execSamples.p50, "p99": execSamples.p99]))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap") {
            let bwrap = try cSpawn("/usr/bin/bwrap", ["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "/bin/true"], iterations: options.count(50))
            figures.append(Figure(
                name: "peer: bwrap --unshare-all /bin/true", value: percentiles(bwrap, milliseconds),
                baseline: "zygote " + percentiles(zygoteSamples, milliseconds), ratio: ratio(bwrap.p50, zygoteSamples.p50),
                target: "peer", met: "", numbers: ["p50": bwrap.p50, "p99": bwrap.p99]))
        }
        return figures
    }

    // MARK: Round trips

    private func roundTripFigures(runtime: PluginRuntime, cRoundTrip: Samples) async throws -> [Figure] {
        let session = try await runtime.createSession(id: "round-trip")
        let iterations = options.count(5000)
        for index in 0..<200 { _ = try await session.request(BenchPing(sequence: index, text: BenchPlugins.text)) }
        var plain: [UInt64] = []
        for index in 0..<iterations {
            let start = now()
            _ = try await session.request(BenchPing(sequence: index, text: BenchPlugins.text))
            plain.append(now() - start)
        }
        var trip: [UInt64] = []
        for index in 0..<iterations {
            let start = now()
            _ = try await session.request(BenchGlobalTrip(sequence: index, text: BenchPlugins.text))
            trip.append(now() - start)
        }
        var emits: [UInt64] = []
        for index in 0..<iterations {
            let start = now()
            _ = try await session.emit(BenchEvent(sequence: index, text: BenchPlugins.text))
            emits.append(now() - start)
        }
        try await session.dispose()

        let local = try await PluginRuntime(globalPlugins: [BenchGlobalPlugin()], sessionPlugins: BenchPlugins.catalog)
        let inProcess = try await local.createSession(id: "in-process")
        var localEmits: [UInt64] = []
        for index in 0..<options.count(20_000) {
            let start = now()
            _ = try await inProcess.emit(BenchEvent(sequence: index, text: BenchPlugins.text))
            localEmits.append(now() - start)
        }
        await local.dispose()

        let plainSamples = Samples(plain), tripSamples = Samples(trip), emitSamples = Samples(emits), localSamples = Samples(localEmits)
        let twoTrips = cRoundTrip.p50 * 2
        return [
            Figure(name: "request supervisor → worker → supervisor, 100 B", value: percentiles(plainSamples, microseconds),
                   baseline: "C socketpair ping-pong 100 B " + percentiles(cRoundTrip, microseconds), ratio: ratio(plainSamples.p50, cRoundTrip.p50),
                   target: "", met: "", numbers: ["p50": plainSamples.p50, "p99": plainSamples.p99, "baselineP50": cRoundTrip.p50]),
            Figure(name: "round trip worker → global bus → worker, 100 B", value: percentiles(tripSamples, microseconds),
                   baseline: "2 C round trips p50 \(microseconds(twoTrips))", ratio: ratio(tripSamples.p50, twoTrips),
                   target: "p50 ≤ 3× C floor", met: tripSamples.p50 <= 3 * twoTrips ? "met" : "missed",
                   numbers: ["p50": tripSamples.p50, "p99": tripSamples.p99, "baselineP50": twoTrips]),
            Figure(name: "emit into a sandboxed session", value: percentiles(emitSamples, microseconds),
                   baseline: "in-process emit " + percentiles(localSamples, microseconds), ratio: ratio(emitSamples.p50, localSamples.p50),
                   target: "", met: "", numbers: ["p50": emitSamples.p50, "p99": emitSamples.p99, "baselineP50": localSamples.p50]),
        ]
    }

    // MARK: Death

    private func deathFigure(runtime: PluginRuntime, host: SandboxedSessionHost) async throws -> [Figure] {
        let watch = CrashWatch()
        runtime.globalBus.on(SessionCrashed.self) { envelope in watch.saw(envelope.payload.sessionID) }
        var latencies: [UInt64] = []
        for index in 0..<options.count(50) {
            let id = "death-\(index)"
            _ = try await runtime.createSession(id: SessionID(id))
            guard let pid = host.summary(of: SessionID(id))?.pid else { continue }
            let start = now()
            kill(pid, SIGKILL)
            let seen = await watch.wait(for: id)
            latencies.append(seen - start)
        }
        var c = [UInt64](repeating: 0, count: options.count(50))
        let result = cb_pidfd_death(Int32(c.count), &c)
        guard result == 0 else { throw BenchError(step: "cb_pidfd_death", code: result) }
        let ours = Samples(latencies), floor = Samples(c)
        return [Figure(name: "death → SessionCrashed published", value: percentiles(ours, microseconds),
                       baseline: "C pidfd poll " + percentiles(floor, microseconds), ratio: ratio(ours.p50, floor.p50),
                       target: "p99 ≤ 2 ms", met: ours.p99 <= 2e6 ? "met" : "missed",
                       numbers: ["p50": ours.p50, "p99": ours.p99, "baselineP50": floor.p50])]
    }

    // MARK: Fleets

    private func fleetFigures(runtime: PluginRuntime, host: SandboxedSessionHost) async throws -> [Figure] {
        var figures: [Figure] = []
        let before = ProcessSample.read(pid: getpid())?.residentBytes ?? 0
        let total = options.quick ? 100 : 1000
        let start = now()
        var created = 0
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            for _ in 0..<4 {
                let index = next
                next += 1
                group.addTask { _ = try await runtime.createSession(id: SessionID("fleet-\(index)")) }
            }
            while try await group.next() != nil {
                created += 1
                if next < total {
                    let index = next
                    next += 1
                    group.addTask { _ = try await runtime.createSession(id: SessionID("fleet-\(index)")) }
                }
            }
        }
        let spawnTime = Double(now() - start)
        try await Task.sleep(for: .milliseconds(500))
        let after = ProcessSample.read(pid: getpid())?.residentBytes ?? 0
        let pids = host.summaries(includingEnded: false).compactMap(\.pid)
        let sampled = pids.prefix(100).compactMap { ProcessSample.read(pid: $0, includingProportional: true)?.proportionalBytes }
        let pss = Double(sampled.reduce(0, +)) / Double(max(1, sampled.count))
        figures.append(Figure(
            name: "\(created) live sessions: time to spawn (4 at a time)", value: String(format: "%.2f s", spawnTime / 1e9),
            baseline: "supervisor RSS \(before >> 20) → \(after >> 20) MiB", ratio: "", target: "1,000 in < 5 s",
            met: created >= 1000 && spawnTime < 5e9 ? "met" : (created < 1000 ? "quick run" : "missed"),
            numbers: ["seconds": spawnTime / 1e9, "sessions": Double(created), "supervisorRSSBefore": Double(before), "supervisorRSSAfter": Double(after)]))
        figures.append(Figure(
            name: "idle session PSS (mean of \(sampled.count))", value: String(format: "%.2f MiB", pss / 1_048_576),
            baseline: String(format: "total for 100: %.0f MiB", pss * 100 / 1_048_576), ratio: "", target: "≤ 4 MB",
            met: pss <= 4_000_000 ? "met" : "missed", numbers: ["pss": pss]))

        for fanOut in Array(Set([10, 100, total])).sorted() where fanOut <= created {
            let rounds = options.count(fanOut >= 1000 ? 20 : 100)
            let targets = Array(runtime.sessions.prefix(fanOut))
            var samples: [UInt64] = []
            for round in 0..<rounds {
                let begin = now()
                await withTaskGroup(of: Void.self) { group in
                    for session in targets {
                        group.addTask { _ = try? await session.emit(BenchEvent(sequence: round, text: BenchPlugins.text)) }
                    }
                }
                samples.append(now() - begin)
            }
            var c = [UInt64](repeating: 0, count: rounds)
            let result = cb_broadcast(Int32(fanOut), Int32(rounds), 100, &c)
            guard result == 0 else { throw BenchError(step: "cb_broadcast", code: result) }
            let ours = Samples(samples), floor = Samples(c)
            let rate = Double(fanOut) / ours.p50 * 1e9, floorRate = Double(fanOut) / floor.p50 * 1e9
            figures.append(Figure(
                name: "sessions.emit to \(fanOut) sessions", value: String(format: "%.0f deliveries/s (round p50 %@)", rate, milliseconds(ours.p50)),
                baseline: String(format: "C broadcast to %d readers %.0f/s", fanOut, floorRate), ratio: ratio(rate, floorRate),
                target: fanOut == 100 ? "≥ 50% of C" : "", met: fanOut == 100 ? (rate >= floorRate / 2 ? "met" : "missed") : "",
                numbers: ["rate": rate, "baselineRate": floorRate]))
        }
        return figures
    }

    // MARK: C baselines

    private func cPingPong(iterations: Int, size: Int) throws -> Samples {
        var samples = [UInt64](repeating: 0, count: iterations)
        let result = cb_pingpong(Int32(iterations), Int32(size), &samples)
        guard result == 0 else { throw BenchError(step: "cb_pingpong", code: result) }
        return Samples(samples)
    }

    private func cSpawn(_ path: String, _ arguments: [String], iterations: Int) throws -> Samples {
        var samples = [UInt64](repeating: 0, count: iterations)
        let argv = ([path] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = argv.map { UnsafePointer($0) } + [nil]
        let result = cb_spawn(path, &pointers, Int32(iterations), &samples)
        guard result == 0 else { throw BenchError(step: "cb_spawn \(path)", code: result) }
        return Samples(samples)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var step: String
    var code: Int32
    var description: String { "\(step) failed: \(String(cString: strerror(-code)))" }
}

/// When each session's SessionCrashed was seen.
final class CrashWatch: Sendable {
    private let seen = Mutex<[String: UInt64]>([:])
    func saw(_ id: String) { seen.withLock { $0[id] = now() } }
    func wait(for id: String) async -> UInt64 {
        while true {
            if let time = seen.withLock({ $0[id] }) { return time }
            await Task.yield()
        }
    }
}

struct BenchDocument: Codable {
    var machine: Machine
    var figures: [Figure]
}

struct Machine: Codable, CustomStringConvertible {
    var kernel: String
    var cpu: String
    var cores: Int
    var date: String

    static var current: Machine {
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        return Machine(kernel: kernel, cpu: model, cores: ProcessInfo.processInfo.activeProcessorCount, date: ISO8601DateFormatter().string(from: Date()))
    }

    var description: String { "machine: Linux \(kernel) · \(cpu) · \(cores) cores · \(date)" }
}

import Synchronization
