import Foundation
import PluginKit
import PluginSandbox
import PluginSupervisor
import PluginWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// 10,000 live sessions on one machine: spawned (16 at a time) within 15 s, the supervisor's
/// RSS, a broadcast to all of them, heartbeats keeping every one alive while they idle (deaths
/// counted), PSS per idle session; and what the sessions' cgroups cost on their own. Where a
/// limit of the machine stops the fleet, the row says how far it got and what stopped it.
struct FleetBench {
    let bench: Bench
    var options: BenchOptions { bench.options }

    var total: Int { options.quick ? 1000 : 10_000 }
    var hold: Duration { options.quick ? .seconds(5) : .seconds(30) }

    func figures() async throws -> [Figure] {
        var figures: [Figure]
        do {
            figures = try cgroupCost()
        } catch {
            figures = [Figure(name: "\(total.formatted()) worker cgroups alone", value: "failed: \(error)", baseline: "", ratio: "", target: "", met: "", numbers: [:])]
        }
        let limits = MachineLimits.current
        note("fleet: \(limits)")
        let failures = Mutex<[String]>([])
        let memoryBefore = MemoryInfo.current
        let rssBefore = ProcessSample.read(pid: getpid())?.residentBytes ?? 0
        let shutdownStart = Mutex<UInt64>(0)
        try await bench.withRuntime(spares: 0) { runtime, host in
            let seconds = try await spawnSessions(runtime, from: 0, to: total, prefix: "fleet", concurrency: 16) { index, error in
                failures.withLock { if $0.count < 20 { $0.append("fleet-\(index): \(error)") } else { $0.append("") } }
            }
            let created = runtime.sessions.count
            let failed = failures.withLock { $0.count }
            note(String(format: "fleet: %d sessions in %.2f s (%d failed)", created, seconds, failed))
            try await Task.sleep(for: .seconds(1))
            let supervisor = ProcessSample.read(pid: getpid())
            let rss = supervisor?.residentBytes ?? 0
            let hwm = Self.statusValue("VmHWM") ?? 0
            let descriptors = ProcessSample.openDescriptorCount(pid: getpid()) ?? 0
            let spawnMet = created >= total && seconds <= 15
            let stopped = failures.withLock { $0.first { !$0.isEmpty } }
            figures.append(Figure(
                name: "\(total.formatted()) live sessions: time to spawn (16 at a time)",
                value: String(format: "%d live in %.2f s (%.0f/s)", created, seconds, Double(created) / seconds) + (failed > 0 ? ", \(failed) failed" : ""),
                baseline: "cold spawn p50 × N / 2 cores: see the spawn rows", ratio: "", target: "≤ 15 s", met: verdict(spawnMet),
                numbers: ["seconds": seconds, "sessions": Double(created), "failed": Double(failed)],
                notes: stopped.map { "first failure: \($0); \(limits)" } ?? "\(limits)"))
            figures.append(Figure(
                name: "\(created.formatted()) live sessions: supervisor RSS",
                value: String(format: "%.0f MiB (peak %.0f MiB), %d threads, %d descriptors", Double(rss) / 1_048_576, Double(hwm) / 1024,
                              supervisor?.threads ?? 0, descriptors),
                baseline: String(format: "before the fleet %.0f MiB", Double(rssBefore) / 1_048_576),
                ratio: String(format: "%.1f KiB per session", Double(rss - rssBefore) / 1024 / Double(max(1, created))),
                target: "≤ 256 MiB", met: verdict(rss <= 256 << 20 && created >= total),
                numbers: ["rss": Double(rss), "rssBefore": Double(rssBefore), "peakKiB": Double(hwm), "threads": Double(supervisor?.threads ?? 0),
                          "descriptors": Double(descriptors)]))

            // A broadcast to all of them, both ways.
            let payload = try RawJSON(encoding: BenchEvent(sequence: 0, text: BenchPlugins.text))
            var start = now()
            let delivered = await runtime.context.sessions.emit(BenchEvent(sequence: 1, text: BenchPlugins.text))
            let emitTime = Double(now() - start) / 1e9
            let emitOK = delivered.values.filter { $0.envelope != nil }.count
            start = now()
            let broadcast = await host.broadcast(event: BenchEvent.wireName, payload: payload)
            let broadcastTime = Double(now() - start) / 1e9
            let broadcastOK = broadcast.filter { if case .success = $0.1 { return true } else { return false } }.count
            figures.append(Figure(
                name: "\(created.formatted()) live sessions: one broadcast to all",
                value: String(format: "sessions.emit: %d of %d delivered in %.2f s; host.broadcast: %d delivered in %.2f s",
                              emitOK, created, emitTime, broadcastOK, broadcastTime),
                baseline: "", ratio: "", target: "completes", met: verdict(emitOK == created && broadcastOK == created && created > 0),
                numbers: ["emitDelivered": Double(emitOK), "emitSeconds": emitTime, "broadcastDelivered": Double(broadcastOK),
                          "broadcastSeconds": broadcastTime]))

            // Idle: heartbeats must keep every session alive.
            let deaths = Mutex<[String: Int]>([:])
            let changes = host.lifecycleChanges()
            let watcher = Task {
                for await change in changes {
                    switch change {
                    case .crashed(_, let cause, _), .ended(_, let cause): deaths.withLock { $0["\(cause.kind)", default: 0] += 1 }
                    default: break
                    }
                }
            }
            let holdStart = ProcessSample.read(pid: getpid())?.cpuSeconds ?? 0
            try await Task.sleep(for: hold)
            let supervisorCPU = (ProcessSample.read(pid: getpid())?.cpuSeconds ?? 0) - holdStart
            let alive = runtime.sessions.count
            watcher.cancel()
            let died = deaths.withLock { $0 }
            let deathCount = died.values.reduce(0, +)
            figures.append(Figure(
                name: "\(created.formatted()) idle sessions: heartbeats for \(Int(hold.seconds)) s",
                value: "\(deathCount) died, \(alive) alive" + (died.isEmpty ? "" : " (" + died.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ") + ")"),
                baseline: String(format: "supervisor CPU %.1f s in %d s (%.0f%% of a core)", supervisorCPU, Int(hold.seconds), supervisorCPU / hold.seconds * 100),
                ratio: "", target: "0 deaths", met: verdict(deathCount == 0 && alive == created && created > 0),
                numbers: ["deaths": Double(deathCount), "alive": Double(alive), "supervisorCPUSeconds": supervisorCPU]))

            // PSS and threads of idle workers: a sample spread over the fleet.
            let pids = host.summaries(includingEnded: false).compactMap(\.pid)
            let step = max(1, pids.count / 100)
            let sample = stride(from: 0, to: pids.count, by: step).compactMap { ProcessSample.read(pid: pids[$0], includingProportional: true) }
            let pss = Double(sample.compactMap(\.proportionalBytes).reduce(0, +)) / Double(max(1, sample.count))
            let threads = Double(sample.map(\.threads).reduce(0, +)) / Double(max(1, sample.count))
            let memoryAfter = MemoryInfo.current
            let used = memoryBefore.availableKiB - memoryAfter.availableKiB
            figures.append(Figure(
                name: "idle session PSS (mean of \(sample.count) across the fleet)",
                value: String(format: "%.2f MiB, %.1f threads per worker", pss / 1_048_576, threads),
                baseline: String(format: "MemAvailable fell %.0f MiB for %d sessions: %.2f MiB each (slab +%.0f MiB, page tables +%.0f MiB, kernel stacks +%.0f MiB)",
                                 Double(used) / 1024, created, Double(used) / 1024 / Double(max(1, created)),
                                 Double(memoryAfter.slabKiB - memoryBefore.slabKiB) / 1024, Double(memoryAfter.pageTablesKiB - memoryBefore.pageTablesKiB) / 1024,
                                 Double(memoryAfter.kernelStackKiB - memoryBefore.kernelStackKiB) / 1024),
                ratio: "", target: "≤ 1 MiB", met: verdict(pss <= 1_048_576 && !sample.isEmpty),
                numbers: ["pss": pss, "threadsPerWorker": threads, "memAvailableDropKiB": Double(used)]))
            note("fleet: shutting down \(created) sessions")
            shutdownStart.withLock { $0 = now() }
        }
        let shutdown = Double(now() - shutdownStart.withLock { $0 }) / 1e9
        if var last = figures.popLast() {
            last.notes = String(format: "disposing the fleet took %.1f s", shutdown)
            figures.append(last)
        }
        return figures
    }

    /// What the sessions' cgroups cost alone: `total` worker group directories made with `mkdir`
    /// in every hierarchy the controller uses (what `createWorkerGroup` makes, without the limit
    /// writes and without the descriptors a `WorkerCgroup` keeps open), the kernel memory they
    /// hold, and their removal.
    private func cgroupCost() throws -> [Figure] {
        guard geteuid() == 0 else { return [] }
        let limits = try SandboxProfile.named("default").cgroupLimits
        let controller = try CgroupController(configuration: .init(name: "pluginsandbox-fleet", poolSize: 0, expectedLimits: limits))
        defer { try? controller.shutdown() }
        let parents = controller.parentDirectories
        let before = MemoryInfo.current
        let start = now()
        var made = 0
        defer {
            for index in 0..<made { for parent in parents { rmdir(parent + "/fleet-\(index)") } }
        }
        for index in 0..<total {
            for parent in parents where mkdir(parent + "/fleet-\(index)", 0o755) != 0 {
                throw BenchError(step: "mkdir \(parent)/fleet-\(index)", code: -errno)
            }
            made += 1
        }
        let seconds = Double(now() - start) / 1e9
        let after = MemoryInfo.current
        let removeStart = now()
        for index in 0..<made { for parent in parents { rmdir(parent + "/fleet-\(index)") } }
        let removed = Double(now() - removeStart) / 1e9
        made = 0
        let perGroup = Double(before.availableKiB - after.availableKiB) / Double(total)
        return [Figure(
            name: "\(total.formatted()) worker cgroups alone (mkdir in \(parents.count) hierarchies)",
            value: String(format: "made in %.2f s (%.0f µs each), removed in %.2f s", seconds, seconds / Double(total) * 1e6, removed),
            baseline: String(format: "kernel memory %.0f KiB per group (slab +%.0f MiB, percpu +%.0f MiB)", perGroup,
                             Double(after.slabKiB - before.slabKiB) / 1024, Double(after.percpuKiB - before.percpuKiB) / 1024),
            ratio: "", target: "", met: "",
            numbers: ["seconds": seconds, "removeSeconds": removed, "kibPerGroup": perGroup],
            notes: parents.joined(separator: ", "))]
    }

    /// A `/proc/self/status` value in KiB.
    static func statusValue(_ key: String) -> Int? {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return nil }
        return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
    }
}

/// The machine's limits that bound a fleet of workers.
struct MachineLimits: CustomStringConvertible {
    var pidMax: Int
    var threadsMax: Int
    var threadsInUse: Int
    var descriptorLimit: Int

    static var current: MachineLimits {
        let read = { (path: String) in Int(((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let loadavg = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        // The fourth field is runnable/existing scheduling entities (threads).
        let threads = loadavg.split(separator: " ").dropFirst(3).first?.split(separator: "/").last.flatMap { Int($0) } ?? 0
        return MachineLimits(pidMax: read("/proc/sys/kernel/pid_max"), threadsMax: read("/proc/sys/kernel/threads-max"),
                             threadsInUse: threads, descriptorLimit: Int(limit.rlim_cur))
    }

    var description: String {
        "pid_max \(pidMax), threads-max \(threadsMax), threads in use before \(threadsInUse), RLIMIT_NOFILE \(descriptorLimit)"
    }
}

/// `/proc/meminfo` figures, in KiB.
struct MemoryInfo {
    var availableKiB = 0, slabKiB = 0, pageTablesKiB = 0, kernelStackKiB = 0, percpuKiB = 0

    static var current: MemoryInfo {
        var info = MemoryInfo()
        let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let value = Int(parts[1]) else { continue }
            switch parts[0] {
            case "MemAvailable:": info.availableKiB = value
            case "Slab:": info.slabKiB = value
            case "PageTables:": info.pageTablesKiB = value
            case "KernelStack:": info.kernelStackKiB = value
            case "Percpu:": info.percpuKiB = value
            default: break
            }
        }
        return info
    }
}
