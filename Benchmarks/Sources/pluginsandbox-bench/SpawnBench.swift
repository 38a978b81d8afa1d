import Foundation
import PluginKit
import PluginSupervisor
#if canImport(Glibc)
import Glibc
#endif

/// spawn → ready: cold (a worker forked from the profile's zygote, no spares), from a warm spare,
/// a different profile falling back to cold, exec mode, and the peers (`bwrap`, `firejail`)
/// timed in alternating rounds of the same run.
struct SpawnBench {
    let bench: Bench
    var options: BenchOptions { bench.options }

    static let bwrap = ["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "/bin/true"]
    static let firejailMinimal = ["--quiet", "--noprofile", "/bin/true"]
    static let firejailDefault = ["--quiet", "/bin/true"]

    func figures() async throws -> [Figure] {
        let rounds = 5
        let perRound = options.count(200) / rounds + 1
        var cold: [UInt64] = [], warm: [UInt64] = [], bwrap: [UInt64] = [], firejail: [UInt64] = [], firejailProfile: [UInt64] = []
        var warmFromSpare = 0, warmCold = 0, spareProcesses = 0
        let hasBwrap = FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")
        let hasFirejail = FileManager.default.isExecutableFile(atPath: "/usr/bin/firejail")
        try await bench.withRuntime(spares: 0) { coldRuntime, _ in
            try await bench.withRuntime(spares: 1, { $0.prewarmedProfiles = ["default"] }) { warmRuntime, warmHost in
                // Warm-up: the profile zygote exists, caches are filled.
                for index in 0..<10 {
                    try await coldRuntime.createSession(id: SessionID("warmup-\(index)")).dispose()
                }
                for round in 0..<rounds {
                    for index in 0..<perRound {
                        let start = now()
                        let session = try await coldRuntime.createSession(id: SessionID("cold-\(round)-\(index)"))
                        cold.append(now() - start)
                        try await session.dispose()
                    }
                    for index in 0..<perRound {
                        // Time for the spare taken last to be replaced, forked, confined and greeted.
                        try await Task.sleep(for: .milliseconds(40))
                        let start = now()
                        let startTicks = bootTicks()
                        let session = try await warmRuntime.createSession(id: SessionID("warm-\(round)-\(index)"))
                        let elapsed = now() - start
                        let pid = warmHost.summary(of: session.id)?.pid ?? 0
                        if let started = processStartTicks(pid), started + 1 < startTicks {
                            warm.append(elapsed)
                            warmFromSpare += 1
                        } else {
                            warmCold += 1
                        }
                        try await session.dispose()
                    }
                    spareProcesses = max(spareProcesses, childProcesses(titled: "(spare)"))
                    if hasBwrap { bwrap += try bench.cSpawn("/usr/bin/bwrap", Self.bwrap, iterations: perRound).values }
                    if hasFirejail {
                        firejail += try bench.cSpawn("/usr/bin/firejail", Self.firejailMinimal, iterations: max(2, perRound / 4)).values
                        firejailProfile += try bench.cSpawn("/usr/bin/firejail", Self.firejailDefault, iterations: max(2, perRound / 8)).values
                    }
                }
            }
        }
        let fallback = try await fallbackSamples()
        let exec = try await execSamples()

        let coldSamples = Samples(cold), warmSamples = Samples(warm), bwrapSamples = Samples(bwrap)
        var figures: [Figure] = []
        let versus = hasBwrap ? "bwrap " + percentiles(bwrapSamples, milliseconds) : "bwrap not installed"
        let coldMet = coldSamples.p50 <= 1.5e6 && coldSamples.p99 <= 3e6 && (!hasBwrap || coldSamples.p50 <= 0.5 * bwrapSamples.p50)
        figures.append(Figure(
            name: "spawn → ready, cold (zygote fork, confined, plugins attached; spares off)", value: percentiles(coldSamples, milliseconds),
            baseline: versus, ratio: hasBwrap ? ratio(coldSamples.p50, bwrapSamples.p50) : "",
            target: "p50 ≤ 1.5 ms and ≤ 0.5× bwrap; p99 ≤ 3 ms", met: verdict(coldMet),
            numbers: ["p50": coldSamples.p50, "p99": coldSamples.p99, "samples": Double(coldSamples.values.count),
                      "baselineP50": bwrapSamples.p50, "baselineP99": bwrapSamples.p99]))
        figures.append(Figure(
            name: "spawn → ready, warm spare (spares on, the spare replenished)",
            value: percentiles(warmSamples, milliseconds) + " (\(warmFromSpare) from a spare, \(warmCold) not)",
            baseline: "cold " + percentiles(coldSamples, milliseconds), ratio: ratio(warmSamples.p50, coldSamples.p50),
            target: "p50 ≤ 0.3 ms", met: verdict(warmSamples.p50 <= 0.3e6 && warmFromSpare > 0),
            numbers: ["p50": warmSamples.p50, "p99": warmSamples.p99, "fromSpare": Double(warmFromSpare), "notFromSpare": Double(warmCold),
                      "baselineP50": coldSamples.p50, "spareProcesses": Double(spareProcesses)],
            notes: "\(warmFromSpare) of \(warmFromSpare + warmCold) sessions took a spare (a worker started ≥ 10 ms before createSession); at most \(spareProcesses) spare worker processes alive at once (sparesPerProfile 1)"))
        figures.append(Figure(
            name: "spawn → ready, spares on, a different profile (strict): cold", value: percentiles(fallback, milliseconds),
            baseline: "cold (default) " + percentiles(coldSamples, milliseconds), ratio: ratio(fallback.p50, coldSamples.p50),
            target: "falls back to cold", met: "", numbers: ["p50": fallback.p50, "p99": fallback.p99, "baselineP50": coldSamples.p50]))
        figures.append(Figure(
            name: "spawn → ready, exec mode (posix_spawn of the own executable)", value: percentiles(exec, milliseconds),
            baseline: "cold (zygote) " + percentiles(coldSamples, milliseconds), ratio: ratio(exec.p50, coldSamples.p50),
            target: "(fallback)", met: "", numbers: ["p50": exec.p50, "p99": exec.p99, "baselineP50": coldSamples.p50]))
        if hasBwrap {
            figures.append(Figure(
                name: "peer: bwrap \(Self.bwrap.joined(separator: " "))", value: percentiles(bwrapSamples, milliseconds),
                baseline: "cold " + percentiles(coldSamples, milliseconds), ratio: ratio(bwrapSamples.p50, coldSamples.p50),
                target: "(peer)", met: "", numbers: ["p50": bwrapSamples.p50, "p99": bwrapSamples.p99]))
        }
        if hasFirejail {
            for (arguments, samples) in [(Self.firejailMinimal, Samples(firejail)), (Self.firejailDefault, Samples(firejailProfile))] {
                figures.append(Figure(
                    name: "peer: firejail \(arguments.joined(separator: " "))", value: percentiles(samples, milliseconds),
                    baseline: "cold " + percentiles(coldSamples, milliseconds), ratio: ratio(samples.p50, coldSamples.p50),
                    target: "(peer)", met: "", numbers: ["p50": samples.p50, "p99": samples.p99]))
            }
        }
        return figures
    }

    /// A session of another profile while spares are on: each sample in a fresh host whose only
    /// spare is the default profile's, so nothing warm serves `strict`.
    private func fallbackSamples() async throws -> Samples {
        var samples: [UInt64] = []
        for index in 0..<(options.count(30) + 1) {
            try await bench.withRuntime(spares: 1, { $0.prewarmedProfiles = ["default"] }) { runtime, _ in
                try await Task.sleep(for: .milliseconds(50))
                let start = now()
                let session = try await runtime.createSession(id: SessionID("other-\(index)"), options: SandboxSessionOptions(profile: "strict"))
                // The first builds the strict profile's zygote: not a cold spawn, left out.
                if index > 0 { samples.append(now() - start) }
                try await session.dispose()
            }
        }
        return Samples(samples)
    }

    private func execSamples() async throws -> Samples {
        try await bench.withRuntime(spares: 0, { $0.spawnMode = .exec }) { runtime, _ in
            var samples: [UInt64] = []
            for index in 0..<(options.count(50) + 3) {
                let start = now()
                let session = try await runtime.createSession(id: SessionID("exec-\(index)"))
                if index >= 3 { samples.append(now() - start) }
                try await session.dispose()
            }
            return Samples(samples)
        }
    }
}

/// Clock ticks since boot (the unit of a process's start time in `/proc/PID/stat`).
func bootTicks() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_BOOTTIME, &time)
    let perSecond = UInt64(sysconf(Int32(_SC_CLK_TCK)))
    return UInt64(time.tv_sec) * perSecond + UInt64(time.tv_nsec) * perSecond / 1_000_000_000
}

/// When `pid` started, in clock ticks since boot (field 22 of `/proc/PID/stat`).
func processStartTicks(_ pid: Int32) -> UInt64? {
    guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // fields[0] is field 3 (state): field 22 is fields[19].
    return fields.count > 19 ? UInt64(fields[19]) : nil
}

/// How many child processes of this one have `title` in their command line (spare workers show
/// `sandbox-worker (spare)`).
func childProcesses(titled title: String) -> Int {
    let me = getpid()
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.filter { name in
        guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 1, Int32(fields[1]) == me,
              let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
        return String(decoding: command, as: UTF8.self).contains(title)
    }.count
}
