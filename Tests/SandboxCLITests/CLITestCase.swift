#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import XCTest

/// The built `sandboxctl` as an operator runs it: a supervisor in a temporary directory, commands
/// run as separate processes, their exit codes and output checked.
class CLITestCase: XCTestCase {
    private final class Marker {}

    /// A finished command.
    struct Outcome {
        var status: Int32
        var output: String
        var error: String
    }

    var directory = ""
    var daemon: Process?
    /// The daemon's standard error (its log), once it exited.
    var daemonLog = Pipe()
    /// Bounded waits: generous, so the tests hold on a loaded machine; never timing assertions.
    let patience: TimeInterval = 60

    var executable: String {
        get throws {
            let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            let bundle = Bundle(for: Marker.self).bundleURL
            for candidate in [runner, bundle, bundle.deletingLastPathComponent()] {
                let path = candidate.appendingPathComponent("sandboxctl").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
            throw XCTSkip("sandboxctl is not built next to the tests")
        }
    }

    var socket: String { directory + "/control.sock" }

    /// The repository's root (for the profiles under `Sandbox/`).
    var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "sandboxctl-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
    }

    override func tearDown() {
        if let daemon, daemon.isRunning {
            kill(daemon.processIdentifier, SIGKILL)
            daemon.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts `serve` on ``socket`` and waits until it answers.
    @discardableResult
    func startDaemon(_ extra: [String] = [], executable path: String? = nil, environment: [String: String] = [:],
                     in workingDirectory: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path ?? executable)
        process.arguments = ["serve", "--socket", socket] + (extra.contains("--log-level") ? [] : ["--log-level", "error"]) + extra
        process.standardOutput = FileHandle.nullDevice
        daemonLog = Pipe()
        process.standardError = daemonLog
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        try process.run()
        daemon = process
        let deadline = Date().addingTimeInterval(patience)
        while Date() < deadline, process.isRunning {
            if try run(["ls", "--socket", socket, "-q"]).status == 0 { return process }
            usleep(50_000)
        }
        XCTFail("the daemon did not answer on its socket")
        return process
    }

    /// Runs `sandboxctl arguments` to completion.
    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil, executable path: String? = nil,
             in workingDirectory: String? = nil, as user: [String] = []) throws -> Outcome {
        let process = Process()
        if user.isEmpty {
            process.executableURL = URL(fileURLWithPath: try path ?? executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = user + [try path ?? executable] + arguments
        }
        if let environment { process.environment = environment }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        let output = Pipe(), error = Pipe(), input = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        // Read both pipes at once, so a chatty command cannot block on a full one.
        let errorData = Mutex(Data())
        let done = DispatchSemaphore(value: 0)
        let reader = Thread {
            errorData.withLock { $0 = error.fileHandleForReading.readDataToEndOfFile() }
            done.signal()
        }
        reader.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        done.wait()
        return Outcome(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
                       error: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
    }

    /// `run` with `--socket` added.
    @discardableResult
    func ctl(_ arguments: [String], stdin: String? = nil) throws -> Outcome {
        try run(arguments + ["--socket", socket], stdin: stdin)
    }

    /// The JSON a command printed.
    func json(_ outcome: Outcome, file: StaticString = #filePath, line: UInt = #line) throws -> Any {
        XCTAssertEqual(outcome.status, 0, outcome.error, file: file, line: line)
        return try JSONSerialization.jsonObject(with: Data(outcome.output.utf8))
    }

    /// The sessions `ls -o json` lists.
    func sessions() throws -> [[String: Any]] {
        try XCTUnwrap(try json(try ctl(["ls", "-o", "json"])) as? [[String: Any]])
    }

    /// Writes `text` to `name` in the test's directory and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Waits until `condition` holds (bounded by ``patience``).
    func eventually(_ what: String, file: StaticString = #filePath, line: UInt = #line, _ condition: () throws -> Bool) rethrows {
        let deadline = Date().addingTimeInterval(patience)
        while Date() < deadline {
            if try condition() { return }
            usleep(20_000)
        }
        XCTFail("never happened: \(what)", file: file, line: line)
    }
}
