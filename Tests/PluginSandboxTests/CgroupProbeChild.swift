import Foundation
import SystemPackage
import XCTest
@testable import PluginSandbox
#if canImport(Glibc)
import Glibc
#endif

/// A running `cgroup-probe` (Tests/Fixtures/CgroupProbe): spawned with the given descriptors at
/// fds 200, 201, ... (so the child can write `0` to its join descriptors), its stdout on a pipe.
final class CgroupProbeChild {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// How the child ended.
    enum Ending: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    let pid: pid_t
    private let output: Int32
    private var buffered: [UInt8] = []
    private var ending: Ending?

    /// The probe binary, built next to the test runner.
    static var executable: String {
        get throws {
            let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            let path = runner.appendingPathComponent("cgroup-probe").path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw Failure(description: "cgroup-probe not built at \(path); run swift build --build-tests")
            }
            return path
        }
    }

    /// Starts `cgroup-probe [--join 200,...] arguments...`: the descriptors of `join` are joined by
    /// the child first; `pass` are handed over after them without joining (e.g. a v2 directory).
    init(join: [FileDescriptor], pass: [FileDescriptor] = [], _ arguments: String...) throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw Failure(description: "pipe: errno \(errno)") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        defer { close(fds[1]) }
        let handed = join + pass
        guard handed.allSatisfy({ $0.rawValue < 200 }) else { throw Failure(description: "descriptor numbers reach 200") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        for (index, descriptor) in handed.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, descriptor.rawValue, Int32(200 + index))
        }
        var argv = [try Self.executable]
        if !join.isEmpty { argv += ["--join", join.indices.map { String(200 + $0) }.joined(separator: ",")] }
        argv += arguments.map { $0 == "{passed}" ? String(200 + join.count) : $0 }
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, argv[0], &actions, nil, cArguments, environ)
        guard result == 0 else {
            close(fds[0])
            throw Failure(description: "posix_spawn \(argv): errno \(result)")
        }
        pid = child
        output = fds[0]
    }

    deinit {
        if ending == nil {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(output)
    }

    /// The next line the child printed; nil when it closed stdout (it died). Gives up after `timeout`
    /// seconds so a broken test cannot hang the suite.
    func line(timeout: Double = 60) throws -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Failure(description: "cgroup-probe \(pid) printed no line in \(timeout) s") }
            var entry = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, Int32(min(left, 1) * 1000)) <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(output, &chunk, chunk.count)
            if count <= 0 { return nil }
            buffered += chunk[..<count]
        }
    }

    /// The next line, which must start with `prefix`; returns the rest after it.
    func expect(_ prefix: String, file: StaticString = #filePath, line number: UInt = #line) throws -> String {
        let text = try XCTUnwrap(try line(), "cgroup-probe ended before printing \(prefix)", file: file, line: number)
        guard text.hasPrefix(prefix) else { throw Failure(description: "expected '\(prefix)...', got '\(text)'") }
        return String(text.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
    }

    /// Whether process `pid` (not a child of this process) has exited: gone, or a zombie.
    static func hasEnded(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }

    /// Sends SIGKILL.
    func kill() {
        if ending == nil { Glibc.kill(pid, SIGKILL) }
    }

    /// Waits for the child to end and reaps it.
    @discardableResult
    func wait() -> Ending {
        if let ending { return ending }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let ended: Ending = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
        ending = ended
        return ended
    }
}

/// Runs `body` with a controller named `name`, shut down afterwards; skips where this machine
/// offers no cgroup the test needs.
func withController<Result>(
    _ name: String, _ configuration: CgroupController.Configuration = .init(), needs: [CgroupResource] = [.memory, .cpu, .cpuAccounting, .pids],
    discovery: CgroupDiscovery? = nil, _ body: (CgroupController) throws -> Result
) throws -> Result {
    guard geteuid() == 0 else { throw XCTSkip("cgroup tests make groups, which needs root here") }
    let found = try discovery ?? CgroupDiscovery.current()
    let plan = CgroupPlan(found, unifiedTracking: configuration.unifiedTracking)
    for resource in needs where plan.served[resource] == nil {
        throw XCTSkip("this machine cannot engage \(resource): \(plan.missing[resource] ?? "")")
    }
    var configuration = configuration
    configuration.name = name
    let controller = try CgroupController(configuration: configuration, discovery: found)
    defer { XCTAssertNoThrow(try controller.shutdown()) }
    return try body(controller)
}
