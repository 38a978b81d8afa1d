import Foundation
import PluginKit
import PluginSandbox
import PluginWire
#if canImport(Glibc)
import Glibc
#endif

/// Where a cold spawn's time goes: the same steps the supervisor takes, run one after the other
/// on one thread with blocking calls, each timed: the worker's cgroup (from the pool), the spawn
/// request to the zygote until the forked worker's descriptors are back, the confinement report
/// (with the fork → confined time the worker measured itself), the Swift worker's hello, and
/// welcome → ready (session scope built, plugins attached). What the engine's cold createSession
/// costs beyond their sum is the supervisor's own overhead (loop hops, tasks, bookkeeping).
struct SpawnBreakdown {
    let bench: Bench
    var options: BenchOptions { bench.options }

    struct Step {
        var name: String
        var samples: [UInt64] = []
    }

    func figures() async throws -> [Figure] {
        let profile = try SandboxProfile.named("default")
        let spawner = try WorkerSpawner()
        let cgroups = geteuid() == 0
            ? try? CgroupController(configuration: .init(name: "pluginsandbox-breakdown", poolSize: 4, expectedLimits: profile.cgroupLimits))
            : nil
        defer { try? cgroups?.shutdown() }
        let settings = try RawJSON(encoding: RuntimeSettings())
        var steps = ["cgroup: createWorkerGroup (pooled)", "spawn request → worker forked (zygote round trip)",
                     "forked → confinement report received", "  of which fork → confined, measured in the worker",
                     "confined → hello (Swift worker runtime up)", "welcome → ready (session scope, plugins attached)",
                     "total"].map { Step(name: $0) }
        let iterations = options.count(200)
        for index in 0..<(iterations + 10) {
            let record = index >= 10
            var marks: [UInt64] = [now()]
            let group = try cgroups?.createWorkerGroup(name: "b\(index)", limits: profile.cgroupLimits)
            marks.append(now())
            let worker = try await spawner.spawn(SpawnRequest(sessionID: "breakdown-\(index)", profile: profile,
                                                              joinDescriptors: group?.joinDescriptors ?? []))
            group?.closeJoinDescriptors()
            marks.append(now())
            defer {
                worker.discard()
                try? group?.destroy()
            }
            guard try wait(for: worker.bootstrap.rawValue),
                  case .confined(let report, let listener)? = try BootstrapMessage.receive(from: worker.bootstrap) else {
                throw BenchError(step: "breakdown: no confinement report", code: 0)
            }
            listener?.close()
            marks.append(now())
            var decoder = FrameDecoder()
            guard case .hello? = try readMessage(worker.socket.rawValue, &decoder) else { throw BenchError(step: "breakdown: no hello", code: 0) }
            marks.append(now())
            var frame: [UInt8] = []
            try MessageCodec.appendFrame(.welcome(Welcome(
                sessionID: "breakdown-\(index)", settings: settings, globalPlugins: [],
                maximumFrameLength: profile.supervision.maximumFrameLength,
                heartbeatIntervalMilliseconds: profile.supervision.heartbeatIntervalMilliseconds,
                maximumInFlight: profile.supervision.maximumInFlight)), to: &frame)
            _ = frame.withUnsafeBytes { Glibc.write(worker.socket.rawValue, $0.baseAddress, $0.count) }
            guard case .ready? = try readMessage(worker.socket.rawValue, &decoder) else { throw BenchError(step: "breakdown: no ready", code: 0) }
            marks.append(now())
            guard record else { continue }
            steps[0].samples.append(marks[1] - marks[0])
            steps[1].samples.append(marks[2] - marks[1])
            steps[2].samples.append(marks[3] - marks[2])
            steps[3].samples.append(UInt64(report.spawnMicroseconds ?? 0) * 1000)
            steps[4].samples.append(marks[4] - marks[3])
            steps[5].samples.append(marks[5] - marks[4])
            steps[6].samples.append(marks[5] - marks[0])
        }
        let total = Samples(steps[6].samples)
        return steps.map { step in
            let samples = Samples(step.samples)
            return Figure(name: "spawn path: " + step.name, value: percentiles(samples, microseconds), baseline: "total " + percentiles(total, microseconds),
                          ratio: String(format: "%.0f%% of p50", samples.p50 / total.p50 * 100), target: "", met: "",
                          numbers: ["p50": samples.p50, "p99": samples.p99])
        }
    }

    /// Waits until `descriptor` is readable (5 s at most).
    private func wait(for descriptor: Int32) throws -> Bool {
        var poll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let result = Glibc.poll(&poll, 1, 5000)
        guard result >= 0 else { throw BenchError(step: "poll", code: -errno) }
        return result == 1
    }

    /// Reads from the socket until one whole message is decoded.
    private func readMessage(_ socket: Int32, _ decoder: inout FrameDecoder) throws -> WireMessage? {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let body = try decoder.nextFrame() { return try MessageCodec.decode(body: body) }
            guard try wait(for: socket) else { return nil }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(socket, $0.baseAddress, $0.count) }
            if count < 0 && errno == EAGAIN { continue }
            guard count > 0 else { return nil }
            buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }
}
