import Foundation
import PluginSandbox

/// `spawn-probe bench N [PROFILE]`: per mode, the time from `spawn` to the worker's bootstrap
/// message (confined) and to its first message on the session socket (ready), and the worker's own
/// fork → confined figure, under PROFILE (default: `default`); the first spawn of the profile
/// (which starts its zygote); each mode's idle worker PSS; and bwrap running /bin/true as a peer in
/// the same run.
enum ProbeBench {
    // Without a bind the sandbox root is empty and /bin/true cannot be found, so the host root is bound read-only.
    static let bwrapArguments = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "/bin/true"]

    static func run(iterations: Int, profileName: String = "default") async throws -> [String: Any] {
        let profile = try SandboxProfile.named(profileName)
        var result: [String: Any] = ["iterations": iterations, "host": getpid(), "profile": profileName]
        for mode in [SpawnMode.zygote, .exec] {
            let spawner = try WorkerSpawner(mode: mode)
            let first = try await measure(spawner, profile: profile, session: "warm-up")
            var samples: [Sample] = []
            for index in 0..<iterations {
                samples.append(try await measure(spawner, profile: profile, session: "bench-\(index)"))
            }
            var entry: [String: Any] = [
                "confined": summary(samples.map(\.confined)), "ready": summary(samples.map(\.ready)),
                "spawnReturned": summary(samples.map(\.returned)),
                "forkToConfined": summary(samples.map(\.forkToConfined)),
                "firstSpawnReadyMs": round(first.ready * 1_000) / 1_000,
            ]
            entry["p50Ms"] = summary(samples.map(\.ready))["p50Ms"]
            entry["p99Ms"] = summary(samples.map(\.ready))["p99Ms"]
            entry["idlePssKiB"] = try await idleMemory(spawner, profile: profile)
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
        result["default"] = try WorkerSpawner().mode.description
        return result
    }

    private struct Sample {
        var returned: Double
        var confined: Double
        var ready: Double
        var forkToConfined: Double
    }

    /// Milliseconds from `spawn` to its return, to the bootstrap message and to the ready line;
    /// and the worker's own fork → confined.
    private static func measure(_ spawner: WorkerSpawner, profile: SandboxProfile, session: String) async throws -> Sample {
        let start = now()
        let worker = try await spawner.spawn(SpawnRequest(sessionID: session, profile: profile))
        defer { ProbeSupport.closeChannels(worker) }
        let returned = now() - start
        var message: BootstrapMessage?
        while message == nil {
            message = try BootstrapMessage.receive(from: worker.bootstrap)
            if message == nil {
                var entry = pollfd(fd: worker.bootstrap.rawValue, events: Int16(POLLIN), revents: 0)
                _ = Glibc.poll(&entry, 1, 5_000)
            }
        }
        let confined = now() - start
        guard case .confined(let report, _) = message else { throw ProbeSupport.UsageError(description: "worker did not start: \(String(describing: message))") }
        _ = try LineChannel(fd: worker.socket.rawValue).receive()
        let ready = now() - start
        try LineChannel(fd: worker.socket.rawValue).send("exit 0")
        _ = try worker.process.waitForTermination()
        return Sample(returned: returned, confined: confined, ready: ready, forkToConfined: Double(report.spawnMicroseconds ?? 0) / 1_000)
    }

    /// PSS and RSS (KiB) of one worker idle after announcing itself.
    private static func idleMemory(_ spawner: WorkerSpawner, profile: SandboxProfile) async throws -> [String: Int] {
        let worker = try await spawner.spawn(SpawnRequest(sessionID: "pss", profile: profile))
        defer { ProbeSupport.closeChannels(worker) }
        _ = try LineChannel(fd: worker.socket.rawValue).receive()
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
        guard status == 0 else { throw ProbeSupport.UsageError(description: "posix_spawn bwrap: errno \(status)") }
        var wstatus: Int32 = 0
        while waitpid(pid, &wstatus, 0) < 0 && errno == EINTR {}
        let elapsed = now() - start
        guard wstatus == 0 else { throw ProbeSupport.UsageError(description: "bwrap exited with wait status \(wstatus)") }
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
