#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginLibraryFixtures
import XCTest

/// `sandboxctl` as an operator uses it: the built executable, a daemon in a temporary directory.
final class CommandLineTests: CLITestCase {
    func testOperatorStory_spawnListEmitKillListDispose() throws {
        try startDaemon()
        XCTAssertEqual(try run(["spawn", "--socket", socket, "--id", "doc-a"]).output, "doc-a\n")
        XCTAssertEqual(try run(["spawn", "--socket", socket, "--id", "doc-b", "--plugin", "editor", "--plugin", "fault"]).output, "doc-b\n")
        let table = try run(["ls", "--socket", socket]).output
        XCTAssertTrue(table.contains("doc-a") && table.contains("doc-b") && table.contains("running"), table)

        let broadcast = try run(["emit", "--socket", socket, "--all", "ThemeChanged", "--payload", #"{"theme":"dark"}"#])
        XCTAssertEqual(broadcast.status, 0, broadcast.error)
        XCTAssertTrue(broadcast.output.contains("doc-a\tdelivered\t{\"theme\":\"dark\"}"), broadcast.output)
        XCTAssertEqual(try run(["request", "--socket", socket, "doc-b", "CurrentThemeRequest"]).output.trimmingCharacters(in: .whitespacesAndNewlines), "\"dark\"")

        let fault = try run(["emit", "--socket", socket, "doc-a", "InjectFault", "--payload", #"{"kind":"exec"}"#])
        XCTAssertEqual(fault.status, 1)
        XCTAssertTrue(fault.output.contains("seccompViolation (syscall execve)"), fault.output)
        let killed = try run(["kill", "--socket", socket, "doc-b"])
        XCTAssertEqual(killed.output.trimmingCharacters(in: .whitespacesAndNewlines), "doc-b: killedByOperator (SIGKILL)")

        let listed = try sessions()
        let causes = Dictionary(uniqueKeysWithValues: listed.map { ($0["id"] as? String ?? "", ($0["lastCause"] as? [String: Any])?["kind"] as? String ?? "") })
        XCTAssertEqual(causes["doc-a"], "seccompViolation")
        XCTAssertEqual(causes["doc-b"], "killedByOperator")

        XCTAssertEqual(try run(["spawn", "--socket", socket, "--id", "doc-c"]).status, 0)
        let disposed = try run(["dispose", "--socket", socket, "doc-c"])
        XCTAssertEqual(disposed.output.trimmingCharacters(in: .whitespacesAndNewlines), "doc-c: disposed")
    }

    func testPluginLibrary_joinsASessionFromTheCommandLine_andATamperedPinIsRefused() throws {
        let library = try PluginLibraryFixtures.exampleLibrary()
        try startDaemon()
        let spawned = try run(["spawn", "--socket", socket, "--id", "greeted", "--plugin-library", library])
        XCTAssertEqual(spawned.output, "greeted\n", spawned.error)
        let greeted = try run(["emit", "--socket", socket, "greeted", "Greet", "--payload", #"{"name":"Ada"}"#])
        XCTAssertEqual(greeted.status, 0, greeted.error)
        XCTAssertTrue(greeted.output.contains(#""greeting":"Hello, Ada! (greeting 1 from a plugin library)""#), greeted.output)
        XCTAssertEqual(try run(["request", "--socket", socket, "greeted", "GreetingCount"]).output.trimmingCharacters(in: .whitespacesAndNewlines), "1")
        let inspected = try run(["inspect", "--socket", socket, "greeted"]).output
        XCTAssertTrue(inspected.contains("greeter") && inspected.contains("plugin-library: \(library)"), inspected)

        let wrong = String(repeating: "0", count: 64)
        let refused = try run(["spawn", "--socket", socket, "--id", "pinned", "--plugin-library", "\(library)@sha256:\(wrong)"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.error.contains(try PluginLibraryFixtures.sha256(of: library)) && refused.error.contains(wrong), refused.error)
    }

    func testUnknownSession_isExitCodeOneNamingTheId() throws {
        try startDaemon()
        let result = try run(["kill", "--socket", socket, "nope"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.contains("no session with id 'nope'"), result.error)
    }

    func testNoDaemon_isExitCode69WithTheCommandToStartOne() throws {
        let result = try run(["ls", "--socket", directory + "/absent.sock"])
        XCTAssertEqual(result.status, 69)
        XCTAssertTrue(result.error.contains("sandboxctl serve"), result.error)
    }

    func testMalformedPayload_isAUsageErrorWithThePosition() throws {
        try startDaemon()
        let result = try run(["emit", "--socket", socket, "doc", "Event", "--payload", "{bad"])
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.error.contains("not valid JSON") && result.error.contains("offset"), result.error)
    }

    func testBadProfile_namesTheKeyAndValue() throws {
        let path = directory + "/bad.json"
        try Data(#"{"name": "bad", "rlimits": {"stackBytes": 1}}"#.utf8).write(to: URL(fileURLWithPath: path))
        let result = try run(["profile", "check", path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.contains("rlimits.stackBytes") && result.error.contains("unknown key"), result.error)
        let good = try run(["profile", "check", URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sandbox/profiles/default.json").path])
        XCTAssertEqual(good.status, 0, good.error)
    }

    func testAnotherUser_isRefused_byTheSocketModeAndBySO_PEERCRED() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to act as nobody")
        }
        try startDaemon()
        let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"]
        let byMode = try run(["ls", "--socket", socket], as: nobody)
        XCTAssertEqual(byMode.status, 77, byMode.error)
        XCTAssertTrue(byMode.error.contains("permission denied"), byMode.error)
        chmod(socket, 0o666)
        let byCredentials = try run(["ls", "--socket", socket], as: nobody)
        XCTAssertEqual(byCredentials.status, 77, byCredentials.error)
        XCTAssertTrue(byCredentials.error.contains("uid 65534 may not control it"), byCredentials.error)
    }

    func testJSONOutput_parses() throws {
        try startDaemon()
        _ = try run(["spawn", "--socket", socket, "--id", "j"])
        let inspect = try run(["inspect", "--socket", socket, "j", "--json"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(inspect.output.utf8)) as? [String: Any])
        XCTAssertEqual(object["id"] as? String, "j")
        XCTAssertFalse((object["sandboxLayers"] as? [String] ?? []).isEmpty)
        let doctor = try run(["doctor", "--json"])
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(doctor.output.utf8)) as? [String: Any])
    }

    func testSIGTERM_disposesEverySessionAndLeavesNoWorker() throws {
        try startDaemon()
        for id in ["t1", "t2", "t3"] { _ = try run(["spawn", "--socket", socket, "--id", id]) }
        let pids = try sessions().compactMap { $0["pid"] as? Int }.map(Int32.init)
        XCTAssertEqual(pids.count, 3)
        let daemon = try XCTUnwrap(self.daemon)
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        XCTAssertEqual(daemon.terminationStatus, 0)
        let deadline = Date().addingTimeInterval(2)
        while pids.contains(where: { kill($0, 0) == 0 }), Date() < deadline { usleep(10_000) }
        XCTAssertFalse(pids.contains(where: { kill($0, 0) == 0 }), "a worker outlived its supervisor")
    }

    func testShortSoak_losesNoMessageWhileFaultsKillSessions() throws {
        let result = try run(["soak", "--sessions", "4", "--seconds", "6", "--seed", "7"])
        XCTAssertEqual(result.status, 0, result.output + result.error)
        XCTAssertTrue(result.output.contains("messages lost:         0"), result.output)
        XCTAssertTrue(result.output.contains("out of order:          0"), result.output)
        XCTAssertFalse(result.output.contains("faults injected:       0\n"), result.output)
    }

    func testHelp_listsEveryCommand() throws {
        let help = try run(["--help"]).output
        for command in ["demo", "serve", "spawn", "ls", "inspect", "emit", "request", "settings", "dispose", "kill", "logs", "top", "doctor",
                        "profile", "faults", "soak", "restart", "rm", "prune", "events", "plugins", "completion"] {
            XCTAssertTrue(help.contains("  \(command)"), "help lacks \(command)")
        }
    }
}
