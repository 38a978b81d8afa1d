import Foundation
import PluginSandbox

/// `spawn-probe bench N`: spawn → first message on the session socket, per mode, with bwrap running
/// /bin/true as a peer in the same run; plus each mode's idle worker PSS.
enum ProbeBench {
    // Without a bind the sandbox root is empty and /bin/true cannot be found, so the host root is bound read-only.
    static let bwrapArguments = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "/bin/true"]

    static func run(iterations: Int) throws -> [String: Any] {
        var result: [String: Any] = ["iterations": iterations, "host": getpid()]
        for mode in [SpawnMode.zygote, .exec] {
            let spawner = WorkerSpawner(mode: mode)
            try ProbeCommand.spawnExchangeReap(spawner, session: "warm-up")
            var samples: [Double] = []
            for index in 0..<iterations {
                samples.append(try timeToFirstMessage(spawner, session: "bench-\(index)"))
            }
            var entry = summary(samples)
            entry["idlePssKiB"] = try idleMemory(spawner)
            result[mode.description] = entry
        }
        if let bwrap = findExecutable("bwrap") {
            var samples: [Double] = []
            for _ in 0..<iterations {
                samples.append(try timeBwrap(bwrap))
            }
            result["bwrap"] = summary(samples).merging(["command": bwrapArguments.joined(separator: " ")]) { $1 }
        } else {
            result["bwrap"] = "not installed"
        }
        result["default"] = WorkerSpawner().mode.description
        return result
    }

    private static func timeToFirstMessage(_ spawner: WorkerSpawner, session: String) throws -> Double {
        let start = now()
        let worker = try spawner.spawn(ProbeCommand.probeRequest(session))
        defer { ProbeCommand.closeChannels(worker) }
        _ = try LineChannel(fd: worker.socket).receive()
        let elapsed = now() - start
        try LineChannel(fd: worker.socket).send("exit 0")
        _ = try worker.process.waitForTermination()
        return elapsed
    }

    /// PSS and RSS (KiB) of one worker idle after announcing itself.
    private static func idleMemory(_ spawner: WorkerSpawner) throws -> [String: Int] {
        let worker = try spawner.spawn(ProbeCommand.probeRequest("pss"))
        defer { ProbeCommand.closeChannels(worker) }
        _ = try LineChannel(fd: worker.socket).receive()
        usleep(200_000)
        let rollup = try String(contentsOfFile: "/proc/\(worker.pid)/smaps_rollup", encoding: .utf8)
        var values: [String: Int] = [:]
        for line in rollup.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let value = Int(fields[1]) else { continue }
            switch fields[0] {
            case "Pss:": values["pss"] = value
            case "Rss:": values["rss"] = value
            default: break
            }
        }
        return values
    }

    private static func timeBwrap(_ path: String) throws -> Double {
        let arguments = bwrapArguments.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        let start = now()
        let status = posix_spawn(&pid, path, nil, nil, arguments, environ)
        guard status == 0 else { throw ProbeCommand.UsageError(description: "posix_spawn bwrap: errno \(status)") }
        var wstatus: Int32 = 0
        while waitpid(pid, &wstatus, 0) < 0 && errno == EINTR {}
        let elapsed = now() - start
        guard wstatus == 0 else { throw ProbeCommand.UsageError(description: "bwrap exited with wait status \(wstatus)") }
        return elapsed
    }

    private static func summary(_ samples: [Double]) -> [String: Any] {
        let sorted = samples.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
            return round(sorted[min(max(rank, 0), sorted.count - 1)] * 1_000) / 1_000
        }
        return ["p50Ms": percentile(50), "p99Ms": percentile(99), "minMs": percentile(0), "maxMs": percentile(100)]
    }

    private static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// Monotonic milliseconds.
    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) * 1_000 + Double(time.tv_nsec) / 1_000_000
    }
}
