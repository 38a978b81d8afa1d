import PluginKit
import Synchronization
import XCTest

final class SessionTests: XCTestCase {
    private func runtime(_ journal: Journal = Journal(), settings: RuntimeSettings = RuntimeSettings()) async throws -> PluginRuntime {
        try await PluginRuntime(
            globalPlugins: [GlobalProbe(id: "global")],
            sessionPlugins: SessionPluginCatalog([
                { SessionProbe(id: "probe", journal: journal, failAttachWhen: { context in
                    context.config(for: "probe").string("failIn") == context.sessionID.rawValue }) },
                { SessionProbe(id: "extra", journal: journal) },
            ]),
            settings: settings)
    }

    func testCreateSession_registersThenAttaches_andListsIt() async throws {
        let journal = Journal()
        let runtime = try await runtime(journal)
        let session = try await runtime.createSession(id: "s1")
        XCTAssertEqual(journal.all.filter { $0.hasPrefix("s1.probe") }, ["s1.probe.register", "s1.probe.attach"])
        XCTAssertEqual(runtime.sessions.map(\.id), ["s1"])
        let attached = await session.attachedPlugins
        XCTAssertEqual(attached, ["probe", "extra"])
    }

    func testSessions_haveTheirOwnLazySingletons() async throws {
        let runtime = try await runtime()
        let one = try await runtime.createSession(id: "one")
        let two = try await runtime.createSession(id: "two")
        let first = try XCTUnwrap((one.handle as? InProcessSessionHandle)?.scope.registry.resolve("probe.state", as: Counter.self))
        let second = try XCTUnwrap((two.handle as? InProcessSessionHandle)?.scope.registry.resolve("probe.state", as: Counter.self))
        XCTAssertFalse(first === second)
        first.next()
        XCTAssertEqual(second.current, 0)
    }

    func testSessionBuses_areIndependent() async throws {
        let runtime = try await runtime()
        let one = try await runtime.createSession(id: "one")
        _ = try await runtime.createSession(id: "two")
        let heard = Journal()
        runtime.sessions.last.flatMap { ($0.handle as? InProcessSessionHandle)?.scope }?.bus.on(Note.self) { _ in heard.add("two heard") }
        try await one.emit(Note(text: "for one"))
        XCTAssertEqual(heard.all, [])
    }

    func testGlobalEmits_doNotReachSessionsImplicitly() async throws {
        let runtime = try await runtime()
        let session = try await runtime.createSession(id: "one")
        let heard = Journal()
        (session.handle as? InProcessSessionHandle)?.scope.bus.on(Note.self) { _ in heard.add("session heard") }
        try await runtime.globalBus.emit(Note(text: "global only"))
        XCTAssertEqual(heard.all, [])
    }

    func testSessionToGlobal_goesThroughGlobalBusWithMutationAndStop() async throws {
        let runtime = try await runtime()
        runtime.globalBus.on(Ping.self) { envelope in envelope.stop(Ping(value: envelope.payload.value * 2)) }
        let session = try await runtime.createSession(id: "one")
        let scope = try XCTUnwrap((session.handle as? InProcessSessionHandle)?.scope)
        let envelope = try await scope.context.globalBus.emit(Ping(value: 21))
        XCTAssertEqual(envelope.payload.value, 42)
        XCTAssertTrue(envelope.isStopped)
    }

    func testRequestIntoSession_isAnsweredThere() async throws {
        let runtime = try await runtime()
        let session = try await runtime.createSession(id: "one")
        let answer = try await session.request(Ask(question: "why"))
        XCTAssertEqual(answer, "one answers why")
    }

    func testBroadcast_reachesEverySessionAndReportsEach() async throws {
        let runtime = try await runtime()
        for id in ["a", "b", "c"] { _ = try await runtime.createSession(id: SessionID(id)) }
        let results = await runtime.context.sessions.emit(Ping(value: 1))
        XCTAssertEqual(Set(results.keys), ["a", "b", "c"])
        for delivery in results.values { XCTAssertEqual(delivery.envelope?.payload.value, 3, "probe and extra each add one") }
    }

    func testBroadcast_aFailingSessionFailsOnlyItsEntry() async throws {
        let runtime = try await runtime()
        for id in ["a", "b"] { _ = try await runtime.createSession(id: SessionID(id)) }
        runtime.sessions.first.flatMap { ($0.handle as? InProcessSessionHandle)?.scope }?.bus.on(Ping.self, priority: .system) { _ in
            throw TestFailure(description: "a broke")
        }
        let results = await runtime.context.sessions.emit(Ping(value: 1))
        guard case .failed(let error)? = results["a"] else { return XCTFail("a must fail") }
        XCTAssertEqual("\(error)", "a broke")
        XCTAssertEqual(results["b"]?.envelope?.payload.value, 3)
    }

    func testBroadcast_runsSessionsInParallel() async throws {
        let runtime = try await runtime()
        let gate = Gate(parties: 2)
        for id in ["a", "b"] {
            let session = try await runtime.createSession(id: SessionID(id))
            (session.handle as? InProcessSessionHandle)?.scope.bus.on(Note.self) { _ in try await gate.arriveAndWait() }
        }
        let results = await runtime.context.sessions.emit(Note(text: "both at once"))
        XCTAssertEqual(results.values.compactMap(\.envelope).count, 2, "each handler waited for the other: they overlapped")
    }

    func testDispose_detachesRemovesAndDisposesTheBus() async throws {
        let journal = Journal()
        let runtime = try await runtime(journal)
        let session = try await runtime.createSession(id: "gone")
        let scope = try XCTUnwrap((session.handle as? InProcessSessionHandle)?.scope)
        try await session.dispose()
        XCTAssertTrue(journal.all.contains("gone.probe.detach"))
        XCTAssertTrue(runtime.sessions.isEmpty)
        XCTAssertTrue(scope.bus.isDisposed)
    }

    func testTransactionalUpdate_aFailingSessionRollsEveryScopeBack() async throws {
        let before = RuntimeSettings().enabling("probe", false)
        let runtime = try await runtime(settings: before)
        let a = try await runtime.createSession(id: "a")
        let b = try await runtime.createSession(id: "b")
        let failing = RuntimeSettings().enabling("probe", true, config: ["failIn": .string("b")]).enabling("extra", false).enabling("global", false)
        do {
            _ = try await runtime.updateSettings(failing)
            XCTFail("the update must fail")
        } catch {
            XCTAssertTrue("\(error)".contains("probe refuses b"), "\(error)")
        }
        XCTAssertEqual(runtime.settings, before)
        XCTAssertEqual(runtime.attachedPlugins, ["global"], "the global scope was rolled back")
        let attachedA = await a.attachedPlugins
        let attachedB = await b.attachedPlugins
        XCTAssertEqual(attachedA, ["extra"], "session a had attached probe and detached extra: both undone")
        XCTAssertEqual(attachedB, ["extra"])
    }

    func testSuccessfulUpdate_reconcilesEveryScopeAndPublishes() async throws {
        let runtime = try await runtime()
        let session = try await runtime.createSession(id: "a")
        var iterator = runtime.settingsUpdates.makeAsyncIterator()
        let new = RuntimeSettings().enabling("extra", false)
        let reports = try await runtime.updateSettings(new)
        XCTAssertEqual(reports["a"]?.detached, ["extra"])
        let attached = await session.attachedPlugins
        XCTAssertEqual(attached, ["probe"])
        let published = await iterator.next()
        XCTAssertEqual(published, new)
        XCTAssertEqual(runtime.settings, new)
    }

    func testSurvivingPlugin_isToldItsSettingsChanged() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "p", journal: journal)])
        let report = try await runtime.updateSettings(RuntimeSettings().enabling("p", true, config: ["k": .int(1)]))
        XCTAssertEqual(report["global"]?.changed, ["p"])
        XCTAssertTrue(journal.all.contains("p.changed"))
    }

    func testConcurrentUpdates_areRefusedNotInterleaved() async throws {
        let gate = Gate(parties: 2)
        let slow = GlobalProbe(id: "slow", flags: .experimental, onAttach: { _ in try await gate.arriveAndWait() })
        let runtime = try await PluginRuntime(globalPlugins: [slow])
        async let first: [String: ReconcileReport] = runtime.updateSettings(RuntimeSettings().enabling("slow", true))
        try await Task.sleep(for: .milliseconds(50))
        do {
            _ = try await runtime.updateSettings(RuntimeSettings())
            XCTFail("the second update must be refused while the first runs")
        } catch {
            XCTAssertEqual(error as? RuntimeError, .updateInProgress)
        }
        try await gate.arriveAndWait()
        _ = try await first
        XCTAssertEqual(runtime.attachedPlugins, ["slow"])
    }

    func testUpdateSettingsSnapshot_storesAndPublishesWithoutReconciling() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "p", journal: journal)])
        try runtime.updateSettingsSnapshot(RuntimeSettings().enabling("p", false))
        XCTAssertEqual(runtime.settings, RuntimeSettings().enabling("p", false))
        XCTAssertEqual(runtime.attachedPlugins, ["p"])
        XCTAssertFalse(journal.all.contains("p.detach"))
    }

    func testInvalidSettings_areRefusedNamingTheKey() async throws {
        let runtime = try await runtime()
        do {
            _ = try await runtime.updateSettings(RuntimeSettings(services: ["broken": ServiceSettings()]))
            XCTFail("expected a settings error")
        } catch {
            XCTAssertTrue("\(error)".contains("'broken'"), "\(error)")
        }
    }

    func testEnabledAndAttached_areSeparateTruths() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "fails", failAttach: true)],
                                              settings: RuntimeSettings().enabling("fails", true))
        XCTAssertEqual(runtime.settings.plugins["fails"]?.enabled, true, "the intent stays in the settings")
        XCTAssertEqual(runtime.attachedPlugins, [], "the truth after the failure")
    }
}

/// Lets `parties` tasks continue only once all have arrived.
final class Gate: Sendable {
    private let state: Mutex<(arrived: Int, waiters: [CheckedContinuation<Void, Never>])>
    private let parties: Int

    init(parties: Int) {
        self.parties = parties
        self.state = Mutex((0, []))
    }

    func arriveAndWait() async throws {
        await withCheckedContinuation { continuation in
            let release = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.arrived += 1
                state.waiters.append(continuation)
                if state.arrived == parties {
                    defer { state.waiters.removeAll() }
                    return state.waiters
                }
                return []
            }
            for waiter in release { waiter.resume() }
        }
    }
}
