import Foundation
import PluginSandbox
import SystemPackage

/// Probe commands that look at a worker from outside while it runs confined.
enum ProbeConfined {
    /// The worker commands whose call the profile stops and reports.
    static let reportedCommands: Set<String> = ["forbidden", "i386", "x32"]

    /// Spawns one worker under the profile `name`, runs `commands` in it (one command line each;
    /// `SUPERVISOR` stands for this process's pid) and reports every reply, every notification its listener delivered, its title and its end.
    static func run(mode: SpawnMode, profile name: String, commands: [String]) async throws -> JSONObject {
        let profile = try SandboxProfile.named(name)
        let worker = try await WorkerSpawner(mode: mode).spawn(SpawnRequest(sessionID: "probe-confined", profile: profile))
        defer { ProbeSupport.closeChannels(worker) }
        var result: [String: Any] = ["pid": worker.pid, "host": getpid(), "mode": worker.mode.description]
        let listener: SeccompListener?
        switch try ProbeSupport.bootstrap(worker) {
        case .failed(let failure):
            result["startFailure"] = ["stage": failure.stage, "detail": failure.detail]
            return JSONObject(result)
        case .confined(let report, let received):
            listener = received
            result["layers"] = report.layers.map { ["name": $0.name, "detail": $0.detail] }
            result["listener"] = received != nil
        }
        let channel = LineChannel(fd: worker.socket.rawValue)
        result["ready"] = try channel.receive()
        result["title"] = ProbeSupport.title(of: worker.pid)
        result["zygotes"] = ProbeSupport.zygoteTitles()
        result["status"] = try? String(contentsOfFile: "/proc/\(worker.pid)/status", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("Uid:") }.map(String.init)
        var replies: [[String: Any]] = []
        for command in commands {
            try channel.send(command.replacingOccurrences(of: "SUPERVISOR", with: "\(getpid())"))
            let verb = String(command.split(separator: " ").first ?? "")
            if reportedCommands.contains(verb), let listener {
                guard let notification = try ProbeSupport.notification(listener) else {
                    replies.append(["command": command, "reply": (try? channel.receive(timeout: 2_000)) ?? "no reply"])
                    continue
                }
                // The stopped call must not return: nothing may come back on the socket meanwhile.
                usleep(100_000)
                let returned = channel.hasPendingBytes()
                try worker.process.signal(SIGKILL)
                let status = try worker.process.waitForTermination()
                replies.append([
                    "command": command, "returned": returned,
                    "notified": [
                        "syscall": notification.syscall, "architecture": notification.architecture,
                        "native": notification.isNativeArchitecture, "number": Int(notification.number),
                        "caller": Int(notification.pid),
                    ],
                    "end": ProbeSupport.describe(status),
                ])
                break
            }
            replies.append(["command": command, "reply": try channel.receive()])
        }
        result["replies"] = replies
        return JSONObject(result)
    }

    /// Spawns a spare (no session), reports its title and context, then has it take the title of
    /// session `doc-1` (as a worker does when the welcome names its session) and reports the title again.
    static func spare(mode: SpawnMode) async throws -> JSONObject {
        let worker = try await WorkerSpawner(mode: mode).spawn(ProbeSupport.probeRequest(nil))
        defer { ProbeSupport.closeChannels(worker) }
        _ = try ProbeSupport.bootstrap(worker)
        let channel = LineChannel(fd: worker.socket.rawValue)
        _ = try channel.receive()
        let before = ProbeSupport.title(of: worker.pid)
        try channel.send("info")
        let info = try JSONSerialization.jsonObject(with: Data(channel.receive().utf8))
        try channel.send("title \(ProcessTitle.worker(session: "doc-1"))")
        _ = try channel.receive()
        return JSONObject(["before": before, "after": ProbeSupport.title(of: worker.pid), "info": info])
    }

    /// Spawns a worker under each of `count` distinct profiles, then one more under the first
    /// again, and reports the profile zygotes alive afterwards and any unreaped child.
    static func profiles(count: Int) async throws -> JSONObject {
        let spawner = try WorkerSpawner(mode: .zygote)
        let names = (0..<count).map { "profile-\($0)" } + ["profile-0"]
        var pids: [Int32] = []
        for name in names {
            let worker = try await spawner.spawn(ProbeSupport.probeRequest(name, profile: SandboxProfile(name: name)))
            _ = try ProbeSupport.bootstrap(worker)
            _ = try LineChannel(fd: worker.socket.rawValue).receive()
            pids.append(worker.pid)
            worker.discard()
        }
        return JSONObject([
            "spawned": pids.count, "zygotes": ProbeSupport.zygoteTitles().map { $0["cmdline"] ?? "" },
            "zombies": ProbeSupport.zombieChildren(),
        ])
    }

    /// Spawns a worker carrying `control` (in its environment and session id), announces its pid,
    /// and keeps it running until this process is killed: for scanning the worker's memory.
    static func hold(mode: SpawnMode, control: String) async throws -> JSONObject {
        let request = SpawnRequest(sessionID: "hold-\(control)", profile: SandboxProfile(name: "probe"), environment: ["PROBE_MARKER": control])
        let worker = try await WorkerSpawner(mode: mode).spawn(request)
        _ = try ProbeSupport.bootstrap(worker)
        _ = try LineChannel(fd: worker.socket.rawValue).receive()
        ProbeCommand.emit(["worker": worker.pid, "host": getpid(), "mode": worker.mode.description])
        while true { pause() }
    }

    /// Spawns a worker that joins the cgroup v1 `procs` file and starts in the cgroup v2 `directory`
    /// ("-": none), and reports the worker's /proc/PID/cgroup.
    static func cgroup(mode: SpawnMode, procs: String, directory: String) async throws -> JSONObject {
        let procsDescriptor = try FileDescriptor.open(procs, .writeOnly, options: .closeOnExec)
        defer { try? procsDescriptor.close() }
        let directoryDescriptor = directory == "-" ? nil : try FileDescriptor.open(directory, .readOnly, options: [.directory, .closeOnExec])
        defer { try? directoryDescriptor?.close() }
        let request = SpawnRequest(
            sessionID: "cgroup", profile: SandboxProfile(name: "probe"),
            joinDescriptors: [procsDescriptor], cgroupDirectory: directoryDescriptor)
        let worker = try await WorkerSpawner(mode: mode).spawn(request)
        defer { ProbeSupport.closeChannels(worker) }
        _ = try ProbeSupport.bootstrap(worker)
        _ = try LineChannel(fd: worker.socket.rawValue).receive()
        let cgroups = try String(contentsOfFile: "/proc/\(worker.pid)/cgroup", encoding: .utf8)
        return JSONObject(["pid": worker.pid, "cgroups": cgroups.split(separator: "\n").map(String.init)])
    }
}
