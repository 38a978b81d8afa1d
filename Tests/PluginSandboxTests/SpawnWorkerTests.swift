import Foundation
import XCTest

/// Spawns real workers through the probe host (a zygote needs a single-threaded host; XCTest is not one).
final class SpawnWorkerTests: XCTestCase {
    private let modes = ["zygote", "exec"]

    func testSpawn_inEachMode_socketCarriesMessagesBothWays() throws {
        for mode in modes {
            let result = try SpawnProbeRunner.run("roundtrip", mode)
            XCTAssertEqual(result["mode"] as? String, mode)
            XCTAssertEqual(result["ready"] as? String, "ready \(result["pid"] as? Int ?? -1)", mode)
            XCTAssertEqual(result["echo"] as? String, "hello over the socket", mode)
            let info = try XCTUnwrap(result["info"] as? [String: Any])
            XCTAssertEqual(info["session"] as? String, "probe-session", mode)
            XCTAssertEqual(info["mode"] as? String, mode)
            XCTAssertEqual(info["profile"] as? String, "probe", mode)
        }
    }

    func testSpawn_whenWorkerPrints_outputPipeCapturesItAndSocketStaysClean() throws {
        for mode in modes {
            let result = try SpawnProbeRunner.run("roundtrip", mode)
            XCTAssertEqual(result["printed"] as? String, "printed", mode)
            XCTAssertEqual(result["output"] as? String, "written to stdout", mode)
            XCTAssertEqual(result["socketClean"] as? Bool, true, mode)
        }
    }

    func testSpawn_inEachMode_workerIsChildOfHostProcess() throws {
        for mode in modes {
            let result = try SpawnProbeRunner.run("roundtrip", mode)
            let info = try XCTUnwrap(result["info"] as? [String: Any])
            XCTAssertEqual(info["parent"] as? Int, result["host"] as? Int, mode)
            XCTAssertEqual(result["processPID"] as? Int, result["pid"] as? Int, mode)
        }
    }

    func testSpawn_inEachMode_workerGetsRequestedEnvironmentWithBacktracerDisabled() throws {
        for mode in modes {
            let info = try XCTUnwrap(SpawnProbeRunner.run("roundtrip", mode)["info"] as? [String: Any])
            XCTAssertEqual(info["marker"] as? String, "m1", mode)
            XCTAssertEqual(info["backtrace"] as? String, "enable=no", mode)
        }
    }

    func testSpawn_inEachMode_workerHoldsOnlyStdioAndSessionDescriptors() throws {
        for mode in modes {
            let result = try SpawnProbeRunner.run("roundtrip", mode)
            let info = try XCTUnwrap(result["info"] as? [String: Any])
            XCTAssertEqual(info["openDescriptors"] as? Int, 4, "stdin, stdout, stderr and the session socket only (\(mode))")
            XCTAssertEqual(result["bootstrapConfined"] as? Bool, true, mode)
        }
    }

    func testSpawn_inEachMode_workerRunsOnlyAfterConfinementEngaged() throws {
        for mode in modes {
            let info = try XCTUnwrap(SpawnProbeRunner.run("roundtrip", mode)["info"] as? [String: Any])
            let layers = try XCTUnwrap(info["layers"] as? [String])
            XCTAssertFalse(layers.isEmpty, mode)
            XCTAssertTrue(layers.contains("no_new_privs"), mode)
        }
    }

    func testReap_whenWorkerExitsWithCode_returnsThatExactCode() throws {
        for mode in modes {
            let result = try SpawnProbeRunner.run("terminate", mode, "exit", "3")
            XCTAssertTrue(result["whileAlive"] is NSNull, mode)
            XCTAssertEqual(result["status"] as? [String: Int], ["exited": 3], mode)
            XCTAssertEqual(result["again"] as? [String: Int], ["exited": 3], mode)
        }
    }

    func testReap_whenWorkerDiesBySignal_returnsThatSignal() throws {
        for mode in modes {
            let result = try SpawnProbeRunner.run("terminate", mode, "raise", "\(SIGSEGV)")
            let status = try XCTUnwrap(result["status"] as? [String: Any])
            XCTAssertEqual(status["signaled"] as? Int, Int(SIGSEGV), mode)
            XCTAssertNotNil(status["coreDumped"] as? Bool, mode)
        }
    }

    func testSignal_whenSupervisorSendsSIGKILL_reapReportsSIGKILL() throws {
        for mode in modes {
            let result = try SpawnProbeRunner.run("terminate", mode, "signal", "\(SIGKILL)")
            let status = try XCTUnwrap(result["status"] as? [String: Any])
            XCTAssertEqual(status["signaled"] as? Int, Int(SIGKILL), mode)
            XCTAssertEqual(status["coreDumped"] as? Bool, false, mode)
        }
    }

    func testHostKilled_inEachMode_workersDieWithinOneSecond() throws {
        for mode in modes {
            let (host, started) = try SpawnProbeRunner.start("orphan", mode, "3")
            let workers = try XCTUnwrap(started["workers"] as? [Int32])
            XCTAssertEqual(workers.count, 3, mode)
            XCTAssertTrue(workers.allSatisfy(Self.isAlive), "workers alive before the host dies (\(mode))")
            kill(host.processIdentifier, SIGKILL)
            host.waitUntilExit()
            let deadline = Date().addingTimeInterval(1)
            while workers.contains(where: Self.isAlive) && Date() < deadline { usleep(5_000) }
            XCTAssertEqual(workers.filter(Self.isAlive), [], "workers still alive 1 s after the host died (\(mode))")
        }
    }

    func testSpawnAndReapMany_inEachMode_leavesNoDescriptorsBehind() throws {
        for mode in modes {
            let result = try SpawnProbeRunner.run("leak", mode, "60")
            XCTAssertEqual(result["spawned"] as? Int, 60, mode)
            XCTAssertEqual(result["after"] as? Int, result["before"] as? Int, mode)
        }
    }

    func testConcurrentSpawns_fromSeveralThreads_allSucceed() throws {
        for mode in modes {
            let result = try SpawnProbeRunner.run("concurrent", mode, "4", "15")
            XCTAssertEqual(result["spawned"] as? Int, 60, mode)
            XCTAssertEqual(result["failures"] as? [String], [], mode)
        }
    }

    func testZygote_whenRequestMalformed_repliesWithErrorAndKeepsServing() throws {
        let result = try SpawnProbeRunner.run("malformed")
        for probe in ["garbage", "wrongShape", "empty"] {
            let answer = try XCTUnwrap(result[probe] as? [String: Any], probe)
            XCTAssertEqual(answer["step"] as? String, "decodeRequest", probe)
        }
        let oversized = try XCTUnwrap(result["oversized"] as? [String: Any])
        XCTAssertEqual(oversized["step"] as? String, "requestTooLarge")
        XCTAssertEqual(result["afterwards"] as? String, "spawned")
        XCTAssertEqual(result["zygoteRunning"] as? Bool, true)
    }

    func testDefaultSpawner_whenZygoteDies_fallsBackToExecWhileExplicitZygoteFails() throws {
        let result = try SpawnProbeRunner.run("fallback")
        XCTAssertEqual(result["automaticMode"] as? String, "zygote")
        XCTAssertEqual(result["automatic"] as? String, "exec")
        XCTAssertEqual(result["automaticReady"] as? String, "ready \(result["automaticPID"] as? Int ?? -1)")
        let explicit = try XCTUnwrap(result["explicit"] as? [String: Any])
        XCTAssertEqual(explicit["step"] as? String, "zygoteUnavailable")
    }

    func testZygote_whenSentTerminationSignals_ignoresThemAndKeepsServing() throws {
        let result = try SpawnProbeRunner.run("zygote-signals")
        XCTAssertEqual(result["zygoteAfter"] as? Int, result["zygote"] as? Int)
        XCTAssertEqual(result["spawnedAfter"] as? Bool, true)
    }

    func testDefaultMode_whenHostStartedZygote_isZygote() throws {
        let result = try SpawnProbeRunner.run("mode")
        XCTAssertEqual(result["zygoteRunning"] as? Bool, true)
        XCTAssertEqual(result["default"] as? String, "zygote")
    }

    func testBench_reportsPercentilesAndMemoryForBothModes() throws {
        let result = try SpawnProbeRunner.run("bench", "3")
        for mode in modes {
            let entry = try XCTUnwrap(result[mode] as? [String: Any], mode)
            let p50 = try XCTUnwrap(entry["p50Ms"] as? Double, mode)
            let p99 = try XCTUnwrap(entry["p99Ms"] as? Double, mode)
            XCTAssertLessThanOrEqual(p50, p99, mode)
            let forkToConfined = try XCTUnwrap(entry["forkToConfined"] as? [String: Any], mode)
            XCTAssertGreaterThan(forkToConfined["p50Ms"] as? Double ?? 0, 0, "the worker measures its own start (\(mode))")
            let memory = try XCTUnwrap(entry["idlePssKiB"] as? [String: Int], mode)
            XCTAssertGreaterThan(memory["pss"] ?? 0, 0, mode)
        }
    }

    func testProfileZygotes_areCachedByProfileAndBoundedWithIdleOnesEvictedAndReaped() throws {
        let result = try SpawnProbeRunner.run("profiles", "10")
        XCTAssertEqual(result["spawned"] as? Int, 11)
        let zygotes = try XCTUnwrap(result["zygotes"] as? [String])
        XCTAssertEqual(zygotes.first, "sandbox-zygote", "the main zygote")
        XCTAssertEqual(zygotes.count - 1, 8, "at most 8 profile zygotes: \(zygotes)")
        XCTAssertEqual(Set(zygotes).count, zygotes.count, "one zygote per profile: \(zygotes)")
        XCTAssertTrue(zygotes.contains("sandbox-zygote profile-0"), "the profile used again got a zygote again: \(zygotes)")
        XCTAssertEqual(result["zombies"] as? [Int], [], "evicted zygotes are reaped")
    }

    func testSpare_inEachMode_knowsNoSessionAndTakesItsTitleWhenTold() throws {
        for mode in modes {
            let result = try SpawnProbeRunner.run("spare", mode)
            let info = try XCTUnwrap(result["info"] as? [String: Any])
            XCTAssertEqual(info["spare"] as? Bool, true, mode)
            XCTAssertEqual((result["before"] as? [String: String])?["cmdline"], "sandbox-worker (spare)", mode)
            XCTAssertEqual((result["before"] as? [String: String])?["comm"], "worker (spare)", mode)
            XCTAssertEqual((result["after"] as? [String: String])?["cmdline"], "sandbox-worker doc-1", mode)
            XCTAssertEqual((result["after"] as? [String: String])?["comm"], "worker doc-1", mode)
        }
    }

    /// Alive means the process exists and is not a zombie.
    private static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }
}
