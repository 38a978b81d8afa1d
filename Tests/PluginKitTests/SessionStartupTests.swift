import PluginKit
import XCTest

/// Issue 13, items 1 and 13: a session either starts whole or not at all, and disposing one
/// cleans up even when a plugin fails to detach.
final class SessionStartupTests: XCTestCase {
    // plugin_kit: lifecycle_state_consistency_test "a session whose init throws is not retained in runtime.sessions".
    func testCreateSession_whenAttachFails_throwsAndIsNotListed() async throws {
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([
            { ScriptedSession(id: "broken", attach: { _ in throw TestFailure(description: "attach boom") }) },
        ]))
        do {
            _ = try await runtime.createSession(id: "s")
            XCTFail("createSession must throw")
        } catch let error as LifecycleError {
            XCTAssertEqual(error.phase, .attach)
            XCTAssertEqual(error.failures["broken"], "attach boom")
        }
        XCTAssertTrue(runtime.sessions.isEmpty)
        XCTAssertTrue(runtime.context.sessions.ids.isEmpty)
    }

    // plugin_kit: init_rollback_test "sibling session plugin that attached successfully is rolled back".
    func testCreateSession_whenAttachFails_detachesTheSiblingsThatAttached() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([
            { ServiceOwner(id: "a-ok", journal: journal, make: { RecordingService($0.rawValue, journal: journal) }) },
            { ServiceOwner(id: "b-broken", journal: journal, make: { RecordingService($0.rawValue, journal: journal) }, failAttach: true) },
        ]))
        await XCTAssertThrowsErrorAsync(try await runtime.createSession(id: "s"))
        XCTAssertEqual(journal.all.filter { $0.hasPrefix("a-ok") }, ["a-ok.attach", "a-ok.detach"])
    }

    // plugin_kit: init_rollback_test "failed session plugin is not reported as enabled after createSession throws".
    func testCreateSession_whenAttachFails_namesEveryFailingPluginInOneError() async throws {
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([
            { ScriptedSession(id: "one", attach: { _ in throw TestFailure(description: "one fails") }) },
            { ScriptedSession(id: "two", attach: { _ in throw TestFailure(description: "two fails") }) },
            { ScriptedSession(id: "fine") },
        ]))
        await XCTAssertThrowsErrorAsync(try await runtime.createSession(id: "s")) { error in
            guard let error = error as? LifecycleError else { return XCTFail("\(error)") }
            XCTAssertEqual(Set(error.failures.keys), ["one", "two"])
            XCTAssertEqual(error.scope, "session s")
        }
    }

    // plugin_kit: failed_attach_cleanup_test "createSession: after init() throws, the service's attach-time
    // subscription on the failed session's bus is cancelled".
    func testCreateSession_whenAttachFails_disposesTheBusAndCancelsServiceSubscriptions() async throws {
        let fired = Counter()
        let bus = Captured<EventBus>()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{
            ScriptedSession(
                id: "capturing",
                register: { registry, _ in
                    try registry.registerSingleton("svc", plugin: "capturing", RecordingService("svc", journal: Journal(), onAttach: { context in
                        context.on(Note.self) { _ in fired.next() }
                    }))
                },
                attach: { context in
                    bus.set(context.bus)
                    throw TestFailure(description: "plugin.attach() boom")
                })
        }]))
        await XCTAssertThrowsErrorAsync(try await runtime.createSession(id: "s"))
        let captured = try XCTUnwrap(bus.current)
        XCTAssertTrue(captured.isDisposed)
        await XCTAssertThrowsErrorAsync(try await captured.emit(Note(text: "late")))
        XCTAssertEqual(fired.current, 0)
        XCTAssertTrue(runtime.sessions.isEmpty)
    }

    // plugin_kit: lifecycle_state_consistency_test, createSession with a register() that throws.
    func testCreateSession_whenRegisterFails_throwsRegisterAndAttachesNothing() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([
            { ServiceOwner(id: "fine", journal: journal, make: { RecordingService($0.rawValue, journal: journal) }) },
            { ScriptedSession(id: "broken", register: { _, _ in throw TestFailure(description: "register boom") }) },
        ]))
        await XCTAssertThrowsErrorAsync(try await runtime.createSession(id: "s")) { error in
            XCTAssertEqual((error as? LifecycleError)?.phase, .register)
        }
        XCTAssertEqual(journal.all, [], "nothing attached")
        XCTAssertTrue(runtime.sessions.isEmpty)
    }

    func testCreateSession_afterAFailedAttempt_canReuseTheId() async throws {
        let refuse = Flag(true)
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([
            { ScriptedSession(id: "moody", attach: { _ in if refuse.isSet { throw TestFailure(description: "not today") } }) },
        ]))
        await XCTAssertThrowsErrorAsync(try await runtime.createSession(id: "s"))
        refuse.set(false)
        let session = try await runtime.createSession(id: "s")
        XCTAssertEqual(runtime.sessions.map(\.id), [session.id])
    }

    func testCreateSession_withTheIdOfALiveSession_isRefused() async throws {
        let runtime = try await PluginRuntime()
        _ = try await runtime.createSession(id: "twin")
        await XCTAssertThrowsErrorAsync(try await runtime.createSession(id: "twin")) { error in
            XCTAssertEqual(error as? RuntimeError, .duplicateSession("twin"))
        }
    }

    // plugin_kit: coverage/iter_03_session_dispose_detach_failure_still_cleans_up_test.
    func testDispose_whenADetachFails_stillDisposesTheBusAndUnlists_thenThrows() async throws {
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([
            { ScriptedSession(id: "throwing_detach", detach: { _ in throw TestFailure(description: "detach failed") }) },
            { SessionProbe(id: "fine") },
        ]))
        let session = try await runtime.createSession(id: "s")
        let scope = try XCTUnwrap((session.handle as? InProcessSessionHandle)?.scope)
        await XCTAssertThrowsErrorAsync(try await session.dispose()) { error in
            guard let error = error as? LifecycleError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.phase, .detach)
            XCTAssertEqual(error.failures["throwing_detach"], "detach failed")
        }
        XCTAssertTrue(scope.bus.isDisposed)
        XCTAssertTrue(runtime.sessions.isEmpty)
        XCTAssertTrue(runtime.context.sessions.ids.isEmpty)
        let attached = await scope.attachedPlugins
        XCTAssertEqual(attached, [], "the other plugin detached too")
    }

    // plugin_kit: event_bus_test "Post-dispose guards", through a session.
    func testEmitIntoADisposedSession_throwsBusDisposed() async throws {
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{ SessionProbe(id: "p") }]))
        let session = try await runtime.createSession(id: "gone")
        try await session.dispose()
        await XCTAssertThrowsErrorAsync(try await session.emit(Ping(value: 1))) { error in
            XCTAssertEqual(error as? BusDisposed, BusDisposed(bus: "gone"))
        }
        await XCTAssertThrowsErrorAsync(try await session.request(Ask(question: "q"))) { error in
            XCTAssertEqual(error as? BusDisposed, BusDisposed(bus: "gone"))
        }
    }
}
