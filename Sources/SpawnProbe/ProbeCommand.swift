import Foundation
import Synchronization
@_spi(Testing) import PluginSandbox

/// The host side of the probe: each command spawns real workers and prints one JSON object.
enum ProbeCommand {
    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ arguments: [String]) -> Int32 {
        do {
            let result = try dispatch(arguments)
            emit(result)
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

    private static func dispatch(_ arguments: [String]) throws -> [String: Any] {
        let command = arguments.first ?? ""
        let rest = Array(arguments.dropFirst())
        switch command {
        case "mode":
            return ["default": WorkerSpawner().mode.description, "zygoteRunning": WorkerBootstrap.zygoteIsRunning]
        case "roundtrip":
            return try roundTrip(mode: mode(rest, 0))
        case "terminate":
            return try terminate(mode: mode(rest, 0), how: word(rest, 1), value: number(rest, 2))
        case "orphan":
            return try orphan(mode: mode(rest, 0), count: number(rest, 1))
        case "leak":
            return try leak(mode: mode(rest, 0), count: number(rest, 1))
        case "concurrent":
            return try concurrent(mode: mode(rest, 0), threads: number(rest, 1), perThread: number(rest, 2))
        case "malformed":
            return try malformed()
        case "fallback":
            return try fallback()
        case "zygote-signals":
            return try zygoteSignals()
        case "bench":
            return try ProbeBench.run(iterations: number(rest, 0))
        default:
            throw UsageError(description: "usage: spawn-probe mode|roundtrip|terminate|orphan|leak|concurrent|malformed|bench ...")
        }
    }

    // MARK: Commands

    private static func roundTrip(mode: SpawnMode) throws -> [String: Any] {
        let request = SpawnRequest(
            sessionID: "probe-session", profile: SandboxProfile(name: "probe"), environment: ["PROBE_MARKER": "m1"]
        )
        let worker = try WorkerSpawner(mode: mode).spawn(request)
        let session = LineChannel(fd: worker.socket)
        let ready = try session.receive()
        try session.send("echo hello over the socket")
        let echo = try session.receive()
        try session.send("print written to stdout")
        let printed = try session.receive()
        let output = try LineChannel(fd: worker.output).receive()
        let socketClean = !session.hasPendingBytes()
        try session.send("info")
        let info = try JSONSerialization.jsonObject(with: Data(session.receive().utf8))
        try session.send("exit 7")
        let status = try worker.process.waitForTermination()
        close(worker.socket)
        close(worker.output)
        close(worker.reports)
        worker.process.close()
        return [
            "mode": worker.mode.description, "pid": worker.pid, "processPID": worker.process.pid, "host": getpid(),
            "ready": ready, "echo": echo, "printed": printed, "output": output, "socketClean": socketClean,
            "info": info, "status": describe(status),
        ]
    }

    private static func terminate(mode: SpawnMode, how: String, value: Int) throws -> [String: Any] {
        let worker = try WorkerSpawner(mode: mode).spawn(probeRequest("terminate"))
        defer { closeChannels(worker) }
        let session = LineChannel(fd: worker.socket)
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
        return [
            "whileAlive": whileAlive.map(describe) ?? NSNull(), "status": describe(status),
            "again": again.map(describe) ?? NSNull(),
        ]
    }

    private static func orphan(mode: SpawnMode, count: Int) throws -> [String: Any] {
        let spawner = WorkerSpawner(mode: mode)
        var pids: [Int32] = []
        for index in 0..<count {
            let worker = try spawner.spawn(probeRequest("orphan-\(index)"))
            _ = try LineChannel(fd: worker.socket).receive()
            pids.append(worker.pid)
        }
        emit(["host": getpid(), "workers": pids])
        while true { pause() }
    }

    private static func leak(mode: SpawnMode, count: Int) throws -> [String: Any] {
        let spawner = WorkerSpawner(mode: mode)
        try spawnExchangeReap(spawner, session: "warm-up")  // lazily created state is not a leak
        let before = openDescriptorCount()
        for index in 0..<count {
            try spawnExchangeReap(spawner, session: "leak-\(index)")
        }
        return ["before": before, "after": openDescriptorCount(), "spawned": count]
    }

    private static func concurrent(mode: SpawnMode, threads: Int, perThread: Int) throws -> [String: Any] {
        let spawner = WorkerSpawner(mode: mode)
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in 0..<perThread {
                do {
                    try spawnExchangeReap(spawner, session: "t\(thread)-\(index)")
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        return ["spawned": threads * perThread, "failures": failures.withLock { $0 }]
    }

    private static func malformed() throws -> [String: Any] {
        let spawner = WorkerSpawner(mode: .zygote)
        var answers: [String: Any] = [:]
        let probes: [(String, [UInt8])] = [
            ("garbage", Array("not json at all".utf8)),
            ("wrongShape", Array(#"{"sessionID":7}"#.utf8)),
            ("empty", []),
            ("oversized", [UInt8](repeating: UInt8(ascii: "x"), count: 200 * 1024)),
        ]
        for (name, bytes) in probes {
            do {
                let worker = try spawner.submitRawZygoteRequest(bytes)
                closeChannels(worker)
                answers[name] = "spawned"
            } catch {
                answers[name] = ["step": error.step.description, "errno": error.errno]
            }
        }
        try spawnExchangeReap(spawner, session: "after-malformed")
        answers["afterwards"] = "spawned"
        answers["zygoteRunning"] = WorkerBootstrap.zygoteIsRunning
        return answers
    }

    /// Kills the zygote, then spawns with an explicit zygote spawner and with the default one.
    private static func fallback() throws -> [String: Any] {
        let automatic = WorkerSpawner()
        let explicit = WorkerSpawner(mode: .zygote)
        guard let zygote = WorkerBootstrap.zygotePID else { throw UsageError(description: "no zygote running") }
        kill(zygote, SIGKILL)
        while WorkerBootstrap.zygoteIsRunning { usleep(1_000) }
        var answers: [String: Any] = ["automaticMode": automatic.mode.description]
        do {
            let worker = try explicit.spawn(probeRequest("explicit"))
            closeChannels(worker)
            answers["explicit"] = worker.mode.description
        } catch {
            answers["explicit"] = ["step": error.step.description, "errno": error.errno]
        }
        let worker = try automatic.spawn(probeRequest("automatic"))
        defer { closeChannels(worker) }
        answers["automatic"] = worker.mode.description
        answers["automaticReady"] = try LineChannel(fd: worker.socket).receive()
        answers["automaticPID"] = worker.pid
        return answers
    }

    /// Sends the zygote the signals a terminal or an operator would, then spawns through it.
    private static func zygoteSignals() throws -> [String: Any] {
        guard let zygote = WorkerBootstrap.zygotePID else { throw UsageError(description: "no zygote running") }
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1] { kill(zygote, signal) }
        usleep(50_000)
        try spawnExchangeReap(WorkerSpawner(mode: .zygote), session: "after-signals")
        return ["zygote": zygote, "zygoteAfter": WorkerBootstrap.zygotePID ?? NSNull(), "spawnedAfter": true]
    }

    // MARK: Pieces

    static func probeRequest(_ session: String) -> SpawnRequest {
        SpawnRequest(sessionID: session, profile: SandboxProfile(name: "probe"))
    }

    /// Spawn, read the ready line, echo once, ask the worker to exit, reap, close everything.
    static func spawnExchangeReap(_ spawner: WorkerSpawner, session: String) throws {
        let worker = try spawner.spawn(probeRequest(session))
        defer { closeChannels(worker) }
        let channel = LineChannel(fd: worker.socket)
        _ = try channel.receive()
        try channel.send("echo \(session)")
        let echo = try channel.receive()
        guard echo == session else { throw UsageError(description: "echo mismatch: \(echo)") }
        try channel.send("exit 0")
        let status = try worker.process.waitForTermination()
        guard status == .exited(0) else { throw UsageError(description: "worker ended \(status)") }
    }

    static func closeChannels(_ worker: SpawnedWorker) {
        if (try? worker.process.reap()) == nil {
            try? worker.process.signal(SIGKILL)
            _ = try? worker.process.waitForTermination()
        }
        close(worker.socket)
        close(worker.output)
        close(worker.reports)
        worker.process.close()
    }

    static func describe(_ status: TerminationStatus) -> [String: Any] {
        switch status {
        case .exited(let code): ["exited": code]
        case .signaled(let signal, let core): ["signaled": signal, "coreDumped": core]
        }
    }

    private static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    private static func mode(_ arguments: [String], _ index: Int) throws -> SpawnMode {
        let name = try word(arguments, index)
        guard let mode = SpawnMode(name: name) else { throw UsageError(description: "unknown mode \(name)") }
        return mode
    }

    private static func word(_ arguments: [String], _ index: Int) throws -> String {
        guard index < arguments.count else { throw UsageError(description: "missing argument \(index + 1)") }
        return arguments[index]
    }

    private static func number(_ arguments: [String], _ index: Int) throws -> Int {
        let text = try word(arguments, index)
        guard let value = Int(text) else { throw UsageError(description: "not a number: \(text)") }
        return value
    }
}
