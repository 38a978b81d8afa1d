#if canImport(Glibc)
import Glibc
#endif
import PluginSandbox
import PluginWire
import Synchronization
import XCTest
@testable import PluginSupervisor

/// The whole engine (table, loops, spares, broadcast, restarts, global routing) driven in memory:
/// every worker is a ``ScriptedWorker``, no process or socket exists. The real-process suites
/// (fault matrix, isolation) run the same engine against confined workers.
private let emptyObject = try! RawJSON(validating: Array("{}".utf8))

final class EmbeddedEngineTests: XCTestCase {
    /// Answers every global emit as handled once, remembering who the supervisor says sent it.
    final class RecordingRouter: GlobalRouter {
        let senders = Mutex<[String]>([])
        func emit(event: String, payload: RawJSON, identifier: String?, from sessionID: String) async throws -> GlobalEmitOutcome {
            senders.withLock { $0.append(sessionID) }
            return GlobalEmitOutcome(payload: nil, stopped: false, handled: 1)
        }
        func request(name: String, payload: RawJSON, identifier: String?, optional: Bool, from sessionID: String) async throws -> RawJSON? {
            payload
        }
    }

    /// Makes scripted workers and keeps them, by the session they were made for.
    final class Workers: Sendable {
        private let made = Mutex<[(session: String?, worker: ScriptedWorker)]>([])
        private let nextPID = Atomic<Int32>(9_000_000)   // above pid_max: no real process has these
        let hostile: @Sendable (String?) -> (@Sendable (EmbeddedTransport) -> Void)?

        init(hostile: @escaping @Sendable (String?) -> (@Sendable (EmbeddedTransport) -> Void)? = { _ in nil }) {
            self.hostile = hostile
        }

        func make(_ session: String?, _ loop: EventLoop) -> any WorkerTransport {
            let pid = nextPID.add(1, ordering: .relaxed).newValue
            let worker = ScriptedWorker(pid: pid, loop: loop, afterReady: hostile(session))
            made.withLock { $0.append((session, worker)) }
            return worker.transport
        }

        func count(for session: String?) -> Int { made.withLock { $0.filter { $0.session == session }.count } }
        var total: Int { made.withLock { $0.count } }
    }

    private let profile = SandboxProfile(name: "embedded")
    private var settings: RawJSON { emptyObject }

    private func withEngine(workers: Workers, router: RecordingRouter = RecordingRouter(), spares: Int = 0,
                            _ body: (Supervisor) async throws -> Void) async throws {
        var configuration = Supervisor.Configuration(workers: .embedded(workers.make), router: router)
        configuration.sparesPerProfile = spares
        configuration.loopCount = 2
        configuration.limits = { _ in WorkerLimits(heartbeatInterval: .milliseconds(50), heartbeatTimeout: .seconds(2)) }
        let supervisor = try Supervisor(configuration: configuration)
        let service = Task { await supervisor.run() }
        do {
            try await body(supervisor)
        } catch {
            await supervisor.shutdown()
            throw error
        }
        await supervisor.shutdown()
        await service.value
    }

    private func open(_ supervisor: Supervisor, _ id: String, restart: RestartPolicy = .never) async throws -> SupervisedSession {
        try await supervisor.openSession(id: id, profile: profile, settings: settings, globalPlugins: [], restartPolicy: restart)
    }

    func testWorkerThatDiesRightAfterItsReady_isRememberedAsEnded_neverListedAsLive() async throws {
        // The worker's end is handled on the loop before the opener resumes from the ready.
        let workers = Workers(hostile: { session in
            guard session == "brief" else { return nil }
            return { transport in transport.exit(.exited(3)) }
        })
        try await withEngine(workers: workers) { supervisor in
            let kept = try await open(supervisor, "kept")
            // Whether the opener hears the ready or the end first is a race: either is right.
            do {
                let brief = try await open(supervisor, "brief")
                let cause = await brief.ended()
                XCTAssertEqual(cause.kind, .exited, "\(cause)")
            } catch let error as SessionError {
                XCTAssertEqual(error.cause?.kind, .exited, "\(error)")
            }
            XCTAssertNil(supervisor.session("brief"), "an ended session is listed as live")
            XCTAssertEqual(supervisor.sessions.map(\.id), [kept.id])
            let results = await supervisor.broadcast(event: "Tick", payload: settings, identifier: nil, timeout: nil)
            XCTAssertEqual(results.map(\.0), ["kept"], "a broadcast went to an ended session")
        }
    }

    func testBroadcast_reachesEverySession_whileAHostileOneIsEndedAlone() async throws {
        // The hostile worker answers every ping it never got: a pong flood.
        let workers = Workers(hostile: { session in
            guard session == "hostile" else { return nil }
            return { transport in for id in 0..<50 { transport.deliver(.pong(Pong(id: UInt64(10_000 + id)))) } }
        })
        try await withEngine(workers: workers) { supervisor in
            let bystanders = [try await open(supervisor, "a"), try await open(supervisor, "b"), try await open(supervisor, "c")]
            let hostile = try? await open(supervisor, "hostile")
            if let hostile {
                let cause = await hostile.ended()
                XCTAssertEqual(cause.kind, .protocolBreach, "\(cause)")
            }
            XCTAssertNil(supervisor.session("hostile"), "the attacker is gone from the table")
            let results = await supervisor.broadcast(event: "Tick", payload: settings, identifier: nil, timeout: nil)
            XCTAssertEqual(Set(results.map(\.0)), ["a", "b", "c"])
            for (id, result) in results {
                guard case .success(.emitResult(let outcome)) = result else { return XCTFail("\(id): \(result)") }
                XCTAssertEqual(outcome.handled, 1, id)
            }
            for session in bystanders {
                let reply = try await session.call("Echo") { .request(Request(id: $0, scope: .session, name: "Echo", payload: emptyObject)) }
                XCTAssertEqual(reply.kind, .response, session.id)
            }
        }
    }

    func testCrashedWorker_underOnCrash_isReplacedAndServesAgain() async throws {
        let workers = Workers()
        try await withEngine(workers: workers) { supervisor in
            let session = try await open(supervisor, "phoenix", restart: .onCrash(maxRestarts: 2, initialBackoff: .milliseconds(1)))
            let firstPID = await session.loop.submit { session.link?.pid }
            let first = try XCTUnwrap(firstPID)
            // The worker dies of a signal, as a crash would.
            await session.loop.submit {
                (session.link?.transportForTests as? EmbeddedTransport)?.exit(.signaled(SIGSEGV, coreDumped: false))
            }
            let deadline = ContinuousClock.now + .seconds(10)
            var second: Int32?
            while ContinuousClock.now < deadline {
                second = await session.loop.submit { session.link?.machine.servesCalls == true ? session.link?.pid : nil }
                if let second, second != first { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            XCTAssertNotNil(second)
            XCTAssertNotEqual(second, first, "a new worker serves the session")
            XCTAssertEqual(workers.count(for: "phoenix"), 2)
            let reply = try await session.call("Echo") { .request(Request(id: $0, scope: .session, name: "Echo", payload: emptyObject)) }
            XCTAssertEqual(reply.kind, .response)
        }
    }

    func testGlobalEmit_isRoutedAsTheSessionTheSupervisorAssigned() async throws {
        let router = RecordingRouter()
        let workers = Workers(hostile: { session in
            { transport in
                transport.deliver(.emit(Emit(id: 1, scope: .global, event: "DocumentOpened", identifier: "someone-else",
                                             payload: try! RawJSON(validating: Array("{}".utf8)))))
            }
        })
        try await withEngine(workers: workers, router: router) { supervisor in
            _ = try await open(supervisor, "honest-id")
            let deadline = ContinuousClock.now + .seconds(10)
            while router.senders.withLock({ $0.isEmpty }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            XCTAssertEqual(router.senders.withLock { $0 }, ["honest-id"])
        }
    }

    func testSpares_areMadeAhead_andTakenByTheNextSession() async throws {
        let workers = Workers()
        try await withEngine(workers: workers, spares: 1) { supervisor in
            _ = try await open(supervisor, "first")
            let deadline = ContinuousClock.now + .seconds(10)
            while workers.count(for: nil as String?) == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            XCTAssertEqual(workers.count(for: nil as String?), 1, "a spare is made after the first session")
            // Let the spare greet before the next session asks for it.
            try await Task.sleep(for: .milliseconds(50))
            _ = try await open(supervisor, "second")
            XCTAssertEqual(workers.count(for: "second"), 0, "the second session took the spare instead of a cold worker")
        }
    }
}
