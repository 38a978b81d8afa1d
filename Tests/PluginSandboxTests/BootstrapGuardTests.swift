import Foundation
import XCTest

@testable import PluginSandbox

/// A host that forgot `WorkerBootstrap.start` fails fast and safely: it cannot create a spawner for
/// itself, and a marked copy of it cannot exec or spawn anything and is killed by the startup guard.
final class BootstrapGuardTests: XCTestCase {
    private func fixture() throws -> String { try SpawnProbeRunner.builtProduct("bootstrap-missing") }

    /// Processes running the fixture executable.
    private func fixtureProcesses(_ path: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) == path
        }
    }

    private func run(_ arguments: [String], environment: [String: String]? = nil) throws -> (Process, [String: String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try fixture())
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte.first == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        let report = line.isEmpty ? [:] : try JSONSerialization.jsonObject(with: line) as? [String: String] ?? [:]
        return (process, report)
    }

    func testHostWithoutBootstrap_creatingASpawnerFailsAtOnceNamingTheMissingCall() throws {
        let path = try fixture()
        XCTAssertEqual(fixtureProcesses(path), [])
        let (process, report) = try run([])
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 3)
        let message = try XCTUnwrap(report["spawner"])
        XCTAssertTrue(message.contains("bootstrapMissing"), message)
        XCTAssertTrue(message.contains("WorkerBootstrap.start must be the first statement of main"), message)
        XCTAssertEqual(fixtureProcesses(path), [], "no process is left behind")
    }

    func testMarkedProcessWithoutBootstrap_cannotExecOrSpawnAndIsKilledByTheGuard() throws {
        let path = try fixture()
        var environment = ProcessInfo.processInfo.environment
        environment["PLUGIN_SANDBOX_BOOTSTRAP_DEADLINE_MS"] = "500"
        let (process, report) = try run([WorkerBootstrap.workerMarker, "\(getpid())"], environment: environment)
        XCTAssertTrue(report["spawner"]?.contains("bootstrapMissing") ?? false, "\(report)")
        XCTAssertEqual(report["exec"], "errno \(ENOSYS)", "exec is refused in a marked process")
        XCTAssertEqual(report["posixSpawn"], "errno \(ENOSYS)", "so no copy of the host can be started from it")
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(process.terminationStatus, SIGKILL, "the startup guard ends it")
        XCTAssertEqual(fixtureProcesses(path), [], "no chain of processes formed")
    }

    func testMarkedProcess_whoseParentIsNotTheNamedSupervisor_exitsBeforeMain() throws {
        let (process, report) = try run([WorkerBootstrap.zygoteMarker, "1"])
        process.waitUntilExit()
        XCTAssertEqual(report, [:], "main never ran")
        XCTAssertEqual(process.terminationStatus, 125)
    }
}
