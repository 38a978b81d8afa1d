import Foundation
import PluginSandbox
import Synchronization
import SystemPackage

/// Pieces every probe command uses.
enum ProbeSupport {
    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `body` on the concurrency pool and blocks the (main, non-pool) thread until it is done.
    static func blocking<Value: Sendable>(_ body: @escaping @Sendable () async throws -> Value) throws -> Value {
        let outcome = Mutex<Result<Value, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<Value, any Error>
            do {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        guard let result = outcome.withLock({ $0 }) else { throw UsageError(description: "no result") }
        return try result.get()
    }

    static func probeRequest(_ session: String?, profile: SandboxProfile = SandboxProfile(name: "probe")) -> SpawnRequest {
        SpawnRequest(sessionID: session, profile: profile)
    }

    /// Waits (at most `timeout` seconds) for the worker's bootstrap message.
    static func bootstrap(_ worker: SpawnedWorker, timeout: Double = 5) throws -> BootstrapMessage {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let message = try BootstrapMessage.receive(from: worker.bootstrap) { return message }
            usleep(500)
        }
        throw UsageError(description: "no bootstrap message within \(timeout) s")
    }

    /// Waits (at most `timeout` seconds) for a notification on `listener`.
    static func notification(_ listener: SeccompListener, timeout: Double = 5) throws -> SeccompNotification? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let notification = try listener.receive() { return notification }
            usleep(1_000)
        }
        return nil
    }

    /// Spawn, read the ready line, echo once, ask the worker to exit, reap, close everything.
    static func spawnExchangeReap(_ spawner: WorkerSpawner, session: String) async throws {
        let worker = try await spawner.spawn(probeRequest(session))
        defer { closeChannels(worker) }
        let channel = LineChannel(fd: worker.socket.rawValue)
        _ = try channel.receive()
        try channel.send("echo \(session)")
        let echo = try channel.receive()
        guard echo == session else { throw UsageError(description: "echo mismatch: \(echo)") }
        try channel.send("exit 0")
        let status = try worker.process.waitForTermination()
        guard status == .exited(0) else { throw UsageError(description: "worker ended \(status)") }
    }

    /// Kills the worker if it still runs, reaps it, closes every descriptor.
    static func closeChannels(_ worker: SpawnedWorker) {
        worker.discard()
    }

    static func describe(_ status: TerminationStatus) -> [String: Any] {
        switch status {
        case .exited(let code): ["exited": code]
        case .signaled(let signal, let core): ["signaled": signal, "coreDumped": core]
        }
    }

    static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// The NUL-separated command line and the comm of `pid`, as `ps` shows them.
    static func title(of pid: Int32) -> [String: String] {
        let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        let first = cmdline.split(separator: 0, omittingEmptySubsequences: true).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines) ?? ""
        return ["cmdline": first.trimmingCharacters(in: .whitespaces), "comm": comm]
    }

    /// The children of this process whose title says they are zygotes.
    static func zygoteTitles() -> [[String: String]] {
        children().compactMap { pid, _ -> [String: String]? in
            let title = title(of: pid)
            return title["cmdline"]?.hasPrefix("sandbox-zygote") == true ? title : nil
        }.sorted { ($0["cmdline"] ?? "") < ($1["cmdline"] ?? "") }
    }

    /// The children of this process that ended and were not reaped.
    static func zombieChildren() -> [Int32] {
        children().filter { $0.state == "Z" }.map(\.pid)
    }

    /// The children of this process and their states (from /proc/PID/stat).
    private static func children() -> [(pid: Int32, state: Substring)] {
        let me = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).compactMap { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == me else { return nil }
            return (pid, fields[0])
        }
    }
}

extension SpawnMode {
    /// The mode named `name`, or a usage error.
    static func parse(_ name: String) throws -> SpawnMode {
        guard let mode = SpawnMode(name: name) else { throw ProbeSupport.UsageError(description: "unknown mode \(name)") }
        return mode
    }
}
