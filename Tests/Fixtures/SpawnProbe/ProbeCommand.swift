import Foundation
import Synchronization
@_spi(Testing) import PluginSandbox

/// The host side of the probe: each command spawns real workers and prints one JSON object.
enum ProbeCommand {
    typealias UsageError = ProbeSupport.UsageError

    static func run(_ arguments: [String]) -> Int32 {
        do {
            let result = try ProbeSupport.blocking { try await dispatch(arguments) }
            emit(result.value)
            return 0
        } catch {
            emit(["error": "\(error)"])
            return 1
        }
    }

    static func emit(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            print(#"{"error":"unencodable result"}"#)
            return
        }
        print(String(decoding: data, as: UTF8.self))
        fflush(nil)
    }

    private static func dispatch(_ arguments: [String]) async throws -> JSONObject {
        let command = arguments.first ?? ""
        let rest = Array(arguments.dropFirst())
        switch command {
        case "mode":
            return JSONObject(["default": try WorkerSpawner().mode.description, "zygoteRunning": WorkerBootstrap.zygoteIsRunning])
        case "roundtrip":
            return try await roundTrip(mode: .parse(word(rest, 0)))
        case "terminate":
            return try await terminate(mode: .parse(word(rest, 0)), how: word(rest, 1), value: number(rest, 2))
        case "orphan":
            return try await orphan(mode: .parse(word(rest, 0)), count: number(rest, 1))
        case "leak":
            return try await leak(mode: .parse(word(rest, 0)), count: number(rest, 1))
        case "concurrent":
            return try await concurrent(mode: .parse(word(rest, 0)), tasks: number(rest, 1), perTask: number(rest, 2))
        case "malformed":
            return try await malformed()
        case "fallback":
            return try await fallback()
        case "zygote-signals":
            return try await zygoteSignals()
        case "confined":
            return try await ProbeConfined.run(mode: .parse(word(rest, 0)), profile: word(rest, 1), commands: Array(rest.dropFirst(2)))
        case "profiles":
            return try await ProbeConfined.profiles(count: number(rest, 0))
        case "spare":
            return try await ProbeConfined.spare(mode: .parse(word(rest, 0)))
        case "hold":
            return try await ProbeConfined.hold(mode: .parse(word(rest, 0)), control: word(rest, 1))
        case "cgroup":
            return try await ProbeConfined.cgroup(mode: .parse(word(rest, 0)), procs: word(rest, 1), directory: word(rest, 2))
        case "bench":
            return JSONObject(try await ProbeBench.run(iterations: number(rest, 0), profileName: rest.count > 1 ? rest[1] : "default"))
        default:
            throw UsageError(description: "usage: spawn-probe mode|roundtrip|terminate|orphan|leak|concurrent|malformed|fallback|zygote-signals|confined|profiles|spare|hold|cgroup|bench ...")
        }
    }

    // MARK: Commands

    private static func roundTrip(mode: SpawnMode) async throws -> JSONObject {
        let request = SpawnRequest(sessionID: "probe-session", profile: SandboxProfile(name: "probe"), environment: ["PROBE_MARKER": "m1"])
        let worker = try await WorkerSpawner(mode: mode).spawn(request)
        defer { ProbeSupport.closeChannels(worker) }
        let bootstrap = try ProbeSupport.bootstrap(worker)
        let session = LineChannel(fd: worker.socket.rawValue)
        let ready = try session.receive()
        try session.send("echo hello over the socket")
        let echo = try session.receive()
        try session.send("print written to stdout")
        let printed = try session.receive()
        let output = try LineChannel(fd: worker.output.rawValue).receive()
        let socketClean = !session.hasPendingBytes()
        try session.send("info")
        let info = try JSONSerialization.jsonObject(with: Data(session.receive().utf8))
        try session.send("exit 7")
        let status = try worker.process.waitForTermination()
        var confined = false
        if case .confined = bootstrap { confined = true }
        return JSONObject([
            "mode": worker.mode.description, "pid": worker.pid, "processPID": worker.process.pid, "host": getpid(),
            "ready": ready, "echo": echo, "printed": printed, "output": output, "socketClean": socketClean,
            "info": info, "status": ProbeSupport.describe(status), "bootstrapConfined": confined,
        ])
    }

    private static func terminate(mode: SpawnMode, how: String, value: Int) async throws -> JSONObject {
        let worker = try await WorkerSpawner(mode: mode).spawn(ProbeSupport.probeRequest("terminate"))
        defer { ProbeSupport.closeChannels(worker) }
        let session = LineChannel(fd: worker.socket.rawValue)
        _ = try session.receive()
        let whileAlive = try worker.process.reap()
        switch how {
        case "exit": try session.send("exit \(value)")
        case "raise": try session.send("raise \(value)")
        case "signal": try worker.process.signal(Int32(value))
        default: throw UsageError(description: "terminate MODE exit|raise|signal VALUE")
        }
        let status = try worker.process.waitForTermination()
        let again = try worker.process.reap()
        return JSONObject([
            "whileAlive": whileAlive.map(ProbeSupport.describe) ?? NSNull(), "status": ProbeSupport.describe(status),
            "again": again.map(ProbeSupport.describe) ?? NSNull(),
        ])
    }

    private static func orphan(mode: SpawnMode, count: Int) async throws -> JSONObject {
        let spawner = try WorkerSpawner(mode: mode)
        var pids: [Int32] = []
        for index in 0..<count {
            let worker = try await spawner.spawn(ProbeSupport.probeRequest("orphan-\(index)"))
            _ = try LineChannel(fd: worker.socket.rawValue).receive()
            pids.append(worker.pid)
        }
        emit(["host": getpid(), "workers": pids])
        while true { pause() }
    }

    private static func leak(mode: SpawnMode, count: Int) async throws -> JSONObject {
        let spawner = try WorkerSpawner(mode: mode)
        try await ProbeSupport.spawnExchangeReap(spawner, session: "warm-up")  // lazily created state is not a leak
        let before = ProbeSupport.openDescriptorCount()
        for index in 0..<count {
            try await ProbeSupport.spawnExchangeReap(spawner, session: "leak-\(index)")
        }
        return JSONObject(["before": before, "after": ProbeSupport.openDescriptorCount(), "spawned": count])
    }

    private static func concurrent(mode: SpawnMode, tasks: Int, perTask: Int) async throws -> JSONObject {
        let spawner = try WorkerSpawner(mode: mode)
        let failures = await withTaskGroup(of: [String].self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var failures: [String] = []
                    for index in 0..<perTask {
                        do {
                            try await ProbeSupport.spawnExchangeReap(spawner, session: "t\(task)-\(index)")
                        } catch {
                            failures.append("\(error)")
                        }
                    }
                    return failures
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        return JSONObject(["spawned": tasks * perTask, "failures": failures])
    }

    private static func malformed() async throws -> JSONObject {
        let spawner = try WorkerSpawner(mode: .zygote)
        var answers: [String: Any] = [:]
        let probes: [(String, [UInt8])] = [
            ("garbage", Array("not json at all".utf8)),
            ("wrongShape", Array(#"{"profile":7}"#.utf8)),
            ("empty", []),
            ("oversized", [UInt8](repeating: UInt8(ascii: "x"), count: 200 * 1024)),
        ]
        for (name, bytes) in probes {
            do {
                try await spawner.submitRawZygoteRequest(bytes)
                answers[name] = "accepted"
            } catch {
                answers[name] = ["step": error.step.description, "errno": error.errno]
            }
        }
        try await ProbeSupport.spawnExchangeReap(spawner, session: "after-malformed")
        answers["afterwards"] = "spawned"
        answers["zygoteRunning"] = WorkerBootstrap.zygoteIsRunning
        return JSONObject(answers)
    }

    /// Kills the zygote, then spawns with an explicit zygote spawner and with the default one.
    private static func fallback() async throws -> JSONObject {
        let automatic = try WorkerSpawner()
        let explicit = try WorkerSpawner(mode: .zygote)
        guard let zygote = WorkerBootstrap.zygotePID else { throw UsageError(description: "no zygote running") }
        kill(zygote, SIGKILL)
        while WorkerBootstrap.zygoteIsRunning { usleep(1_000) }
        var answers: [String: Any] = ["automaticMode": automatic.mode.description]
        do {
            let worker = try await explicit.spawn(ProbeSupport.probeRequest("explicit"))
            ProbeSupport.closeChannels(worker)
            answers["explicit"] = worker.mode.description
        } catch {
            answers["explicit"] = ["step": error.step.description, "errno": error.errno]
        }
        let worker = try await automatic.spawn(ProbeSupport.probeRequest("automatic"))
        defer { ProbeSupport.closeChannels(worker) }
        answers["automatic"] = worker.mode.description
        answers["automaticReady"] = try LineChannel(fd: worker.socket.rawValue).receive()
        answers["automaticPID"] = worker.pid
        return JSONObject(answers)
    }

    /// Sends the zygote the signals a terminal or an operator would, then spawns through it.
    private static func zygoteSignals() async throws -> JSONObject {
        guard let zygote = WorkerBootstrap.zygotePID else { throw UsageError(description: "no zygote running") }
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1] { kill(zygote, signal) }
        usleep(50_000)
        try await ProbeSupport.spawnExchangeReap(try WorkerSpawner(mode: .zygote), session: "after-signals")
        return JSONObject(["zygote": zygote, "zygoteAfter": WorkerBootstrap.zygotePID ?? NSNull(), "spawnedAfter": true])
    }

    // MARK: Arguments

    static func word(_ arguments: [String], _ index: Int) throws -> String {
        guard index < arguments.count else { throw UsageError(description: "missing argument \(index + 1)") }
        return arguments[index]
    }

    static func number(_ arguments: [String], _ index: Int) throws -> Int {
        let text = try word(arguments, index)
        guard let value = Int(text) else { throw UsageError(description: "not a number: \(text)") }
        return value
    }
}

/// A JSON object crossing from the probe's tasks to its main thread.
///
/// `@unchecked Sendable`: built by one task and read by the main thread only after that task
/// finished (`ProbeSupport.blocking` orders the two through a semaphore).
struct JSONObject: @unchecked Sendable {
    let value: [String: Any]
    init(_ value: [String: Any]) { self.value = value }
}
