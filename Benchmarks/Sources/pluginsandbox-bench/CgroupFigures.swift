import Foundation
import PluginSandbox
#if canImport(Glibc)
import Glibc
#endif

extension Bench {
    /// `createWorkerGroup` from the pool (limits already written, or rewritten) and on the spot,
    /// and one counter reading; baselines: `mkdir` + `rmdir` of the same directories, a bare `pread`.
    func cgroupFigures() throws -> [Figure] {
        guard geteuid() == 0 else {
            return [Figure(name: "cgroup: skipped (making groups needs root)", value: "", baseline: "", ratio: "", target: "", met: "", numbers: [:])]
        }
        let limits = try SandboxProfile.named("default").cgroupLimits
        let iterations = options.count(200)
        // Every request differs from the one before (memory and pids), so no pooled group matches it.
        let changing = (0..<iterations).map { index in
            var other = limits
            other.memoryBytes = UInt64(128 + index) << 20
            other.pids = 32 + index % 2
            return other
        }

        let pooled = try createTimes(poolSize: 4, expected: limits, asking: [limits], iterations: iterations)
        let rewritten = try createTimes(poolSize: 4, expected: limits, asking: changing, iterations: iterations)
        let onTheSpot = try createTimes(poolSize: 0, expected: limits, asking: [limits], iterations: iterations)

        let controller = try CgroupController(configuration: .init(name: "pluginsandbox-bench", poolSize: 1, expectedLimits: limits))
        defer { try? controller.shutdown() }
        let floor = Samples(try (0..<iterations).map { index in
            let names = controller.parentDirectories.map { $0 + "/floor\(index)" }
            let start = now()
            for name in names where mkdir(name, 0o755) != 0 { throw BenchError(step: "mkdir \(name)", code: -errno) }
            let made = now() - start
            for name in names { rmdir(name) }
            return made
        })
        let group = try controller.createWorkerGroup(name: "readings", limits: limits)
        defer { try? group.destroy() }
        var reading: [UInt64] = []
        for _ in 0..<options.count(20_000) {
            let start = now()
            _ = try group.memoryCurrentBytes()
            reading.append(now() - start)
        }
        let counter = ["/memory.usage_in_bytes", "/memory.current"].flatMap { file in group.directories.map { $0 + file } }
            .first { FileManager.default.fileExists(atPath: $0) }
        let file = try openForReading(counter ?? "/proc/self/stat")
        defer { close(file) }
        var buffer = [UInt8](repeating: 0, count: 64)
        var bare: [UInt64] = []
        for _ in 0..<options.count(20_000) {
            let start = now()
            _ = pread(file, &buffer, buffer.count, 0)
            bare.append(now() - start)
        }
        let readingSamples = Samples(reading)
        let bareSamples = Samples(bare)
        let hierarchies = "\(controller.parentDirectories.count) hierarchies"
        return [
            Figure(name: "cgroup: createWorkerGroup, pooled (\(hierarchies))", value: percentiles(pooled, microseconds),
                   baseline: "mkdir " + percentiles(floor, microseconds), ratio: ratio(pooled.p50, floor.p50), target: "", met: "",
                   numbers: ["p50": pooled.p50, "p99": pooled.p99, "baselineP50": floor.p50]),
            Figure(name: "cgroup: createWorkerGroup, pooled, limits rewritten", value: percentiles(rewritten, microseconds),
                   baseline: "mkdir " + percentiles(floor, microseconds), ratio: ratio(rewritten.p50, floor.p50), target: "", met: "",
                   numbers: ["p50": rewritten.p50, "p99": rewritten.p99]),
            Figure(name: "cgroup: createWorkerGroup, no pool", value: percentiles(onTheSpot, microseconds),
                   baseline: "mkdir " + percentiles(floor, microseconds), ratio: ratio(onTheSpot.p50, floor.p50), target: "", met: "",
                   numbers: ["p50": onTheSpot.p50, "p99": onTheSpot.p99]),
            Figure(name: "cgroup: memoryCurrentBytes() reading", value: percentiles(readingSamples, microseconds),
                   baseline: "pread " + percentiles(bareSamples, microseconds), ratio: ratio(readingSamples.p50, bareSamples.p50),
                   target: "", met: "", numbers: ["p50": readingSamples.p50, "p99": readingSamples.p99, "baselineP50": bareSamples.p50]),
        ]
    }

    /// Times `createWorkerGroup` alone (the destroy after it, and the pool's refill, are off the clock).
    private func createTimes(poolSize: Int, expected: CgroupLimits, asking: [CgroupLimits], iterations: Int) throws -> Samples {
        let controller = try CgroupController(configuration: .init(name: "pluginsandbox-bench", poolSize: poolSize, expectedLimits: expected))
        defer { try? controller.shutdown() }
        var times: [UInt64] = []
        for index in 0..<iterations {
            let start = now()
            let group = try controller.createWorkerGroup(name: "bench-\(index)", limits: asking[index % asking.count])
            times.append(now() - start)
            try group.destroy()
            usleep(5_000)
        }
        return Samples(times)
    }
}

private func openForReading(_ path: String) throws -> Int32 {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw BenchError(step: "open \(path)", code: -errno) }
    return descriptor
}
