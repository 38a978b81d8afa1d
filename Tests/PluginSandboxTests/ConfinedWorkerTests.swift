import Foundation
import XCTest

/// A worker confined by the shipped profiles, probed from inside (what plugin code would try) and
/// from outside (its listener, its title), in both spawn modes. `SUPERVISOR` in a command is the
/// probe host's pid.
final class ConfinedWorkerTests: XCTestCase {
    private let modes = ["zygote", "exec"]

    /// Runs `commands` in one worker confined by `profile`; returns the probe's result and the replies by command.
    private func confined(_ mode: String, _ profile: String, _ commands: [String]) throws -> (result: [String: Any], replies: [String: Any]) {
        let result = try SpawnProbeRunner.run(["confined", mode, profile] + commands)
        if let failure = result["startFailure"] { XCTFail("the worker did not start: \(failure)") }
        var replies: [String: Any] = [:]
        for reply in result["replies"] as? [[String: Any]] ?? [] {
            guard let command = reply["command"] as? String else { continue }
            replies[command] = reply["reply"] ?? reply
        }
        return (result, replies)
    }

    func testProcFilesystem_listsOnlyTheWorkerItself() throws {
        for mode in modes {
            let (result, replies) = try confined(mode, "default", ["ls /proc"])
            let pid = try XCTUnwrap(result["pid"] as? Int)
            XCTAssertEqual(replies["ls /proc"] as? String, "\(pid),self,thread-self", mode)
        }
    }

    func testHostPathsOutsideTheProfile_cannotEvenBeStatted() throws {
        for mode in modes {
            let (_, replies) = try confined(mode, "default", ["stat /etc/passwd", "stat /usr/bin", "stat /usr/share/zoneinfo/UTC"])
            XCTAssertEqual(replies["stat /etc/passwd"] as? String, "errno \(ENOENT)", mode)
            XCTAssertEqual(replies["stat /usr/bin"] as? String, "errno \(ENOENT)", mode)
            XCTAssertEqual(replies["stat /usr/share/zoneinfo/UTC"] as? String, "found", "a path the profile names is there (\(mode))")
        }
    }

    func testInitAndTheSupervisor_areInvisible() throws {
        for mode in modes {
            let commands = ["read /proc/1/cmdline", "stat /proc/1", "read /proc/stat", "read /proc/SUPERVISOR/net/unix",
                            "read /proc/SUPERVISOR/net/tcp", "stat /proc/SUPERVISOR"]
            let (_, replies) = try confined(mode, "default", commands)
            for command in commands {
                XCTAssertEqual(replies[command] as? String, "errno \(ENOENT)", "\(command) (\(mode))")
            }
        }
    }

    func testForbiddenCall_isReportedThroughTheListenerByName() throws {
        for mode in modes {
            let (result, replies) = try confined(mode, "default", ["forbidden"])
            XCTAssertEqual(result["listener"] as? Bool, true, mode)
            let report = try XCTUnwrap(replies["forbidden"] as? [String: Any], mode)
            let notified = try XCTUnwrap(report["notified"] as? [String: Any], "no notification (\(mode))")
            XCTAssertEqual(notified["syscall"] as? String, "ptrace", mode)
            XCTAssertEqual(notified["native"] as? Bool, true, mode)
            XCTAssertEqual(notified["caller"] as? Int, result["pid"] as? Int, mode)
        }
    }

    func testForbiddenCall_afterThePluginInstalledItsOwnSIGSYSHandler_isStillReported() throws {
        for mode in modes {
            let (_, replies) = try confined(mode, "default", ["sigsys", "forbidden"])
            XCTAssertEqual(replies["sigsys"] as? String, "ok 0", "the handler is installed (\(mode))")
            let report = try XCTUnwrap(replies["forbidden"] as? [String: Any], mode)
            let notified = try XCTUnwrap(report["notified"] as? [String: Any], "no notification (\(mode))")
            XCTAssertEqual(notified["syscall"] as? String, "ptrace", mode)
        }
    }

    func testForeignArchitectureCalls_stopTheWorkerAndAreReportedAsForeign() throws {
        for (command, architecture) in [("i386", "i386"), ("x32", "x32")] {
            for mode in modes {
                let (_, replies) = try confined(mode, "strict", [command, "echo after"])
                let report = try XCTUnwrap(replies[command] as? [String: Any], "\(command) (\(mode))")
                let notified = try XCTUnwrap(report["notified"] as? [String: Any], "no notification for \(command) (\(mode))")
                XCTAssertEqual(notified["architecture"] as? String, architecture, mode)
                XCTAssertEqual(notified["native"] as? Bool, false, mode)
                XCTAssertEqual(notified["syscall"] as? String, "getpid", mode)
                XCTAssertEqual(report["returned"] as? Bool, false, "the call stays stopped until the supervisor acts (\(mode))")
                XCTAssertEqual((report["end"] as? [String: Any])?["signaled"] as? Int, Int(SIGKILL), "the whole worker ended (\(mode))")
            }
        }
    }

    func testChannelHardening_outOfBandPipeGrowthAndSocketOptionsAreRefusedWithAnErrno() throws {
        for mode in modes {
            let (result, replies) = try confined(mode, "default", ["oob", "oob-receive", "pipesize", "pipesize-high", "sndbuf", "echo still alive"])
            XCTAssertEqual(replies["oob"] as? String, "errno \(EPERM)", mode)
            XCTAssertEqual(replies["oob-receive"] as? String, "errno \(EPERM)", mode)
            XCTAssertEqual(replies["pipesize"] as? String, "errno \(EPERM)", mode)
            XCTAssertEqual(replies["pipesize-high"] as? String, "errno \(EPERM)", "high bits in the command do not slip past (\(mode))")
            XCTAssertEqual(replies["sndbuf"] as? String, "errno \(EPERM)", mode)
            XCTAssertEqual(replies["echo still alive"] as? String, "still alive", "refused, not killed (\(mode))")
            XCTAssertEqual(result["listener"] as? Bool, true, mode)
        }
    }

    func testWorkerAndZygotes_showTheirRoleInProcessListings() throws {
        let (result, _) = try confined("zygote", "default", [])
        let title = try XCTUnwrap(result["title"] as? [String: String])
        XCTAssertEqual(title["cmdline"], "sandbox-worker probe-confined")
        XCTAssertEqual(title["comm"], "worker probe-co", "comm keeps 15 bytes")
        let zygotes = try XCTUnwrap(result["zygotes"] as? [[String: String]])
        XCTAssertEqual(zygotes.map { $0["cmdline"] ?? "" }, ["sandbox-zygote", "sandbox-zygote default"])
        XCTAssertEqual(zygotes.map { $0["comm"] ?? "" }, ["zygote", "zygote default"])
        let (exec, _) = try confined("exec", "default", [])
        XCTAssertEqual((exec["title"] as? [String: String])?["cmdline"], "sandbox-worker probe-confined")
    }

    /// The default profile with an open-files limit no process may have (above fs.nr_open).
    private func profileWithImpossibleLimit(allowDegraded: [String]) throws -> String {
        let source = try XCTUnwrap(SandboxProfileFiles.defaultProfile)
        var document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source))) as? [String: Any])
        var limits = try XCTUnwrap(document["rlimits"] as? [String: Any])
        limits["openFiles"] = 1 << 40
        document["rlimits"] = limits
        document["allowDegraded"] = allowDegraded
        let path = NSTemporaryDirectory() + "plugin-sandbox-\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testLayerThatCannotEngage_failsTheStartOverTheBootstrapChannel() throws {
        let path = try profileWithImpossibleLimit(allowDegraded: [])
        for mode in modes {
            let result = try SpawnProbeRunner.run(["confined", mode, path, "echo never"])
            let failure = try XCTUnwrap(result["startFailure"] as? [String: String], mode)
            XCTAssertEqual(failure["stage"], "confinement", mode)
            XCTAssertTrue(failure["detail"]?.contains("rlimits") ?? false, "\(failure) (\(mode))")
        }
    }

    func testLayerTheProfileLetsDegrade_isReportedDegradedAndTheWorkerRuns() throws {
        let path = try profileWithImpossibleLimit(allowDegraded: ["rlimits"])
        for mode in modes {
            let (result, replies) = try confined(mode, path, ["echo running", "forbidden"])
            let layers = try XCTUnwrap(result["layers"] as? [[String: String]])
            XCTAssertTrue(layers.first { $0["name"] == "rlimits" }?["detail"]?.hasPrefix("DEGRADED") ?? false, "\(layers) (\(mode))")
            XCTAssertEqual(replies["echo running"] as? String, "running", mode)
            let report = try XCTUnwrap(replies["forbidden"] as? [String: Any], mode)
            XCTAssertEqual((report["notified"] as? [String: Any])?["syscall"] as? String, "ptrace", "the filter still reports (\(mode))")
        }
    }

    func testWorker_runsAsItsOwnUnprivilegedUid() throws {
        for mode in modes {
            let (result, _) = try confined(mode, "default", [])
            let line = try XCTUnwrap(result["status"] as? String)
            let uids = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().compactMap { Int($0) }
            XCTAssertEqual(uids.count, 4, line)
            XCTAssertTrue(uids.allSatisfy { $0 >= 200_000 && $0 == uids[0] }, line)
        }
    }
}

/// Where the shipped profiles are.
enum SandboxProfileFiles {
    static var defaultProfile: String? {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sandbox/profiles/default.json").path
    }
}
