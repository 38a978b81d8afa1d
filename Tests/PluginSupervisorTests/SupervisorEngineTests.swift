#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginSandbox
import PluginWire
import XCTest
@testable import PluginSupervisor

/// The supervisor engine against real, spawned worker processes speaking the wire protocol.
final class SupervisorEngineTests: XCTestCase {
    func testOpenSession_handshakesAndReportsAttachedPlugins() async throws {
        let supervisor = try makeFixtureSupervisor()
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        let summary = session.summary
        XCTAssertEqual(summary.state, "running")
        XCTAssertEqual(summary.attachedPlugins, ["fixture"])
        XCTAssertNotNil(summary.pid)
        XCTAssertEqual(supervisor.sessions.map(\.id), [session.id])
        await supervisor.shutdown()
    }

    func testEmitIntoSession_returnsTheWorkersFinalPayloadAndStop() async throws {
        let supervisor = try makeFixtureSupervisor()
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        let result = try await session.emit(event: "increment", payload: .object(["n": .int(1)]))
        XCTAssertEqual(result.payload, .object(["n": .int(2)]))
        XCTAssertFalse(result.stopped)
        let stopped = try await session.emit(event: "increment", payload: .object(["n": .int(100)]))
        XCTAssertTrue(stopped.stopped)
        await supervisor.shutdown()
    }

    func testSessionToGlobalEmit_runsTheGlobalCascadeAndReturnsItsMutation() async throws {
        let supervisor = try makeFixtureSupervisor()
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        let bumped = try await session.emit(event: "global", payload: .object(["event": .string("Bump"), "payload": .object(["n": .int(41)])]))
        XCTAssertEqual(bumped.payload, .object(["n": .int(42)]))
        let halted = try await session.emit(event: "global", payload: .object(["event": .string("Halt"), "payload": .null]))
        XCTAssertTrue(halted.stopped)
        await supervisor.shutdown()
    }

    func testGlobalHandlerError_comesBackAsAnErrorInTheWorker() async throws {
        let supervisor = try makeFixtureSupervisor()
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        do {
            _ = try await session.emit(event: "global", payload: .object(["event": .string("Fail"), "payload": .string("x")]))
            XCTFail("expected the global handler's error")
        } catch {
            XCTAssertEqual(error.code, .remote)
            XCTAssertTrue(error.message.contains("global handler refused"), error.message)
        }
        await supervisor.shutdown()
    }

    func testBroadcast_reachesEverySessionAndReportsEachOne() async throws {
        let supervisor = try makeFixtureSupervisor()
        var ids: [String] = []
        for _ in 0..<3 {
            ids.append(try await supervisor.openSession(profile: fixtureProfile, settings: .object([:])).id)
        }
        let results = await supervisor.broadcast(event: "increment", payload: .object(["n": .int(7)]))
        XCTAssertEqual(Set(results.keys), Set(ids))
        for (_, result) in results {
            XCTAssertEqual(try result.get().payload, .object(["n": .int(8)]))
        }
        await supervisor.shutdown()
    }

    func testCrashingWorker_endsOnlyItsSessionWithTheSignalNamed() async throws {
        let log = LifecycleLog()
        let supervisor = try makeFixtureSupervisor(log: log)
        let victim = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        let healthy = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        do {
            _ = try await victim.emit(event: "crash", payload: .null)
            XCTFail("a call to a crashing worker must fail")
        } catch {
            XCTAssertEqual(error.code, .sessionDead)
            XCTAssertEqual(error.cause, .signaled(SIGSEGV))
        }
        let cause = await victim.ended()
        XCTAssertEqual(cause, .signaled(SIGSEGV))
        let crashed = await log.waitFor { if case .crashed(victim.id, _, false) = $0 { return true } else { return false } }
        XCTAssertNotNil(crashed)
        let after = try await healthy.emit(event: "increment", payload: .object(["n": .int(1)]))
        XCTAssertEqual(after.payload, .object(["n": .int(2)]))
        XCTAssertEqual(supervisor.sessions.map(\.id), [healthy.id])
        await supervisor.shutdown()
    }

    func testCallsToADeadSession_failAtOnceWithTheCause() async throws {
        let supervisor = try makeFixtureSupervisor()
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        _ = try? await session.emit(event: "exit", payload: .int(3))
        let ended = await session.ended()
        XCTAssertEqual(ended, .exited(code: 3))
        do {
            _ = try await session.emit(event: "echo", payload: .null)
            XCTFail("expected sessionDead")
        } catch {
            XCTAssertEqual(error.code, .sessionDead)
            XCTAssertEqual(error.cause, .exited(code: 3))
        }
        await supervisor.shutdown()
    }

    func testProtocolBreaches_areKilledWithTheBreachNamed() async throws {
        let supervisor = try makeFixtureSupervisor()
        let expectations: [(event: String, detail: String)] = [
            ("garbage", "invalid frame"),
            ("oversize", "invalid frame"),
            ("second-hello", "second hello"),
            ("flood", "log records"),
        ]
        for row in expectations {
            let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
            _ = try? await session.emit(event: row.event, payload: .null, timeout: .seconds(3))
            let cause = await session.ended()
            XCTAssertEqual(cause.kind, .protocolBreach, "\(row.event): \(cause)")
            XCTAssertTrue(cause.detail?.contains(row.detail) ?? false, "\(row.event): \(cause)")
        }
        let survivor = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        let echoed = try await survivor.emit(event: "echo", payload: .int(1))
        XCTAssertEqual(echoed.payload, .int(1))
        await supervisor.shutdown()
    }

    func testWorkerThatClosesItsSocket_isKilledAsBreach() async throws {
        let supervisor = try makeFixtureSupervisor()
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        _ = try? await session.emit(event: "close-socket", payload: .null)
        let cause = await session.ended()
        XCTAssertEqual(cause.kind, .protocolBreach)
        XCTAssertTrue(cause.detail?.contains("closed its socket") ?? false, "\(cause)")
        await supervisor.shutdown()
    }

    func testHungWorker_isKilledByTheHeartbeat() async throws {
        let supervisor = try makeFixtureSupervisor(limits: WorkerLimits(heartbeatInterval: .milliseconds(50), heartbeatTimeout: .milliseconds(400), requestTimeout: .seconds(30)))
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        let started = ContinuousClock.now
        _ = try? await session.emit(event: "hang", payload: .null)
        let cause = await session.ended()
        XCTAssertEqual(cause.kind, .heartbeatTimeout, "\(cause)")
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(20))
        await supervisor.shutdown()
    }

    func testRequestPastItsTimeout_failsTheCallerAndKillsTheWorkerAsHung() async throws {
        let supervisor = try makeFixtureSupervisor(limits: WorkerLimits(heartbeatInterval: .milliseconds(100), heartbeatTimeout: .seconds(30), requestTimeout: .seconds(30)))
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        do {
            _ = try await session.emit(event: "hang", payload: .null, timeout: .milliseconds(300))
            XCTFail("expected a timeout")
        } catch {
            XCTAssertEqual(error.code, .timeout)
        }
        let cause = await session.ended()
        XCTAssertEqual(cause.kind, .requestTimeout, "\(cause)")
        await supervisor.shutdown()
    }

    func testWorkerThatNeverReads_cannotGrowTheSupervisorsQueue() async throws {
        let supervisor = try makeFixtureSupervisor(limits: WorkerLimits(maximumQueuedBytes: 512 * 1024, heartbeatInterval: .milliseconds(100), heartbeatTimeout: .seconds(30)))
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        Task { _ = try? await session.emit(event: "deaf", payload: .null, timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(100))
        let big = JSONValue.string(String(repeating: "y", count: 60 * 1024))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask { _ = try? await session.emit(event: "echo", payload: big, timeout: .seconds(5)) }
            }
        }
        let cause = await session.ended()
        XCTAssertEqual(cause.kind, .protocolBreach, "\(cause)")
        XCTAssertTrue(cause.detail?.contains("stopped reading") ?? false, "\(cause)")
        await supervisor.shutdown()
    }

    func testRandomHostileFrames_neverCrashTheSupervisorOrDisturbOthers() async throws {
        let supervisor = try makeFixtureSupervisor()
        let witness = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        var breaches = 0
        for seed in 1...40 {
            let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
            _ = try? await session.emit(event: "random", payload: .int(Int64(seed)), timeout: .seconds(3))
            _ = try? await session.emit(event: "echo", payload: .int(1), timeout: .seconds(3))
            if let cause = await Self.end(of: session, within: .seconds(2)) {
                XCTAssertTrue([.protocolBreach, .requestTimeout, .heartbeatTimeout].contains(cause.kind), "seed \(seed): \(cause)")
                breaches += 1
            } else {
                _ = await session.kill()
            }
            let echoed = try await witness.emit(event: "increment", payload: .object(["n": .int(Int64(seed))]))
            XCTAssertEqual(echoed.payload, .object(["n": .int(Int64(seed + 1))]), "seed \(seed): the witness session was disturbed")
        }
        XCTAssertGreaterThan(breaches, 20, "most random inputs are breaches")
        await supervisor.shutdown()
    }

    /// The session's end, or nil if it is still running after `limit`.
    static func end(of session: SandboxedSession, within limit: Duration) async -> ExitCause? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if case .ended(let cause) = session.phase { return cause }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    func testHelloThatLiesAboutItsPid_isRefused() async throws {
        let supervisor = try makeFixtureSupervisor(environment: ["FIXTURE_HELLO_PID": "1"])
        do {
            _ = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
            XCTFail("a lying worker must not become a session")
        } catch {
            XCTAssertEqual(error.cause?.kind, .protocolBreach)
            XCTAssertTrue(error.cause?.detail?.contains("hello claims pid 1,") ?? false, "\(error)")
        }
        XCTAssertTrue(supervisor.sessions.isEmpty)
        await supervisor.shutdown()
    }

    func testHelloWithAnotherProtocolVersion_isRefusedNamingBothVersions() async throws {
        let supervisor = try makeFixtureSupervisor(environment: ["FIXTURE_HELLO_VERSION": "99"])
        do {
            _ = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
            XCTFail("a worker speaking another version must not become a session")
        } catch {
            XCTAssertEqual(error.cause?.kind, .handshakeFailed)
            XCTAssertTrue(error.cause?.detail?.contains("99") ?? false, "\(error)")
        }
        await supervisor.shutdown()
    }

    func testKill_endsTheSessionAsKilledByOperator() async throws {
        let supervisor = try makeFixtureSupervisor()
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        let pid = try XCTUnwrap(session.pid)
        let cause = await session.kill()
        XCTAssertEqual(cause, .killedByOperator)
        XCTAssertNotEqual(Glibc.kill(pid, 0), 0, "the worker process must be gone")
        await supervisor.shutdown()
    }

    func testDispose_endsTheSessionCleanly() async throws {
        let log = LifecycleLog()
        let supervisor = try makeFixtureSupervisor(log: log)
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        let cause = await session.dispose()
        XCTAssertEqual(cause, .disposed)
        let ended = await log.waitFor { if case .ended(session.id, .disposed) = $0 { return true } else { return false } }
        XCTAssertNotNil(ended)
        XCTAssertTrue(supervisor.sessions.isEmpty)
        await supervisor.shutdown()
    }

    func testRestartPolicy_bringsACrashedSessionBackWithTheSameIdAndGivesUpPastTheIntensity() async throws {
        let log = LifecycleLog()
        let supervisor = try makeFixtureSupervisor(log: log)
        let session = try await supervisor.openSession(
            profile: fixtureProfile, settings: .object(["kept": .bool(true)]),
            restartPolicy: .onCrash(maxRestarts: 2, within: .seconds(30), initialBackoff: .milliseconds(10)))
        let firstPID = try XCTUnwrap(session.pid)
        _ = try? await session.emit(event: "crash", payload: .null)
        let restarted = await log.waitFor { if case .restarted(session.id, 1) = $0 { return true } else { return false } }
        XCTAssertNotNil(restarted)
        let secondPID = try XCTUnwrap(session.pid)
        XCTAssertNotEqual(firstPID, secondPID)
        XCTAssertEqual(session.settings, .object(["kept": .bool(true)]))
        let echoed = try await session.emit(event: "echo", payload: .int(5))
        XCTAssertEqual(echoed.payload, .int(5))
        _ = try? await session.emit(event: "crash", payload: .null)
        _ = await log.waitFor { if case .restarted(session.id, 2) = $0 { return true } else { return false } }
        _ = try? await session.emit(event: "crash", payload: .null)
        let cause = await session.ended()
        XCTAssertEqual(cause.kind, .signaled)
        XCTAssertTrue(cause.detail?.contains("given up") ?? false, "\(cause)")
        XCTAssertEqual(session.summary.restarts, 2)
        await supervisor.shutdown()
    }

    func testWorkerOutput_isCapturedPerSessionAndNeverOnTheSocket() async throws {
        let supervisor = try makeFixtureSupervisor()
        let session = try await supervisor.openSession(profile: fixtureProfile, settings: .object([:]))
        let echoed = try await session.emit(event: "print", payload: .string("hello"))
        XCTAssertEqual(echoed.payload, .string("hello"))
        let deadline = ContinuousClock.now + .seconds(5)
        while !session.output.text.contains("printed by the plugin"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTAssertTrue(session.output.text.contains("fixture worker \(session.id) starting"), session.output.text)
        XCTAssertTrue(session.output.text.contains("printed by the plugin: "), session.output.text)
        await supervisor.shutdown()
    }
}
