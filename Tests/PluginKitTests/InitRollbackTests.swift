import PluginKit
import XCTest

/// Issue 13, item 12, and plugin_kit's init rollback: what a failing plugin leaves behind at
/// start and when an update turns it on.
final class InitRollbackTests: XCTestCase {
    // plugin_kit: init_rollback_test "failed plugin is not reported as attached after init throws".
    func testInit_whenTheOnlyPluginFailsToAttach_reportsItAndAttachesNothing() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [
            ScriptedGlobal(id: "throwing_global", attach: { _ in throw TestFailure(description: "intentional global attach crash") }),
        ])
        XCTAssertEqual(runtime.attachedPlugins, [])
        XCTAssertEqual(runtime.startupFailures.first?.failures["throwing_global"], "intentional global attach crash")
    }

    // plugin_kit: init_rollback_test "sibling that attached stays attached, failed plugin is unwound".
    func testInit_whenOnePluginFailsToAttach_theSiblingStaysAttached() async throws {
        let attaches = Counter()
        let runtime = try await PluginRuntime(globalPlugins: [
            ScriptedGlobal(id: "ok_global", attach: { _ in attaches.next() }),
            ScriptedGlobal(id: "throwing_global", attach: { _ in throw TestFailure(description: "boom") }),
        ])
        XCTAssertEqual(attaches.current, 1)
        XCTAssertEqual(runtime.attachedPlugins, ["ok_global"])
        XCTAssertEqual(runtime.startupFailures.map(\.phase), [.attach])
    }

    // plugin_kit: init_rollback_test "register() failure rolls back successful sibling plugins so dispose() is safe".
    func testInit_whenARegisterFails_throwsAndNoSiblingAttaches() async throws {
        let journal = Journal()
        do {
            _ = try await PluginRuntime(globalPlugins: [
                ScriptedGlobal(id: "ok_register_global",
                               register: { try $0.registerSingleton("ok_service", plugin: "ok_register_global", "ok") },
                               attach: { _ in journal.add("ok attached") }),
                ScriptedGlobal(id: "throwing_register_global", register: { registry in
                    try registry.registerSingleton("partial", plugin: "throwing_register_global", "partial")
                    throw TestFailure(description: "intentional global register crash")
                }),
            ])
            XCTFail("init must throw")
        } catch let error as LifecycleError {
            XCTAssertEqual(error.phase, .register)
            XCTAssertEqual(error.failures, ["throwing_register_global": "intentional global register crash"])
        }
        XCTAssertEqual(journal.all, [])
    }

    // plugin_kit: init_rollback_test "register() failure surfaces as PluginLifecycleException even when
    // RuntimeSettings pins the failed plugin's services".
    func testInit_whenARegisterFails_underAPinToItsService_reportsTheRegisterFailure() async throws {
        let settings = RuntimeSettings(services: ["throwing_register_global:partial": ServiceSettings()])
        do {
            _ = try await PluginRuntime(globalPlugins: [
                ScriptedGlobal(id: "throwing_register_global", register: { registry in
                    try registry.registerSingleton("partial", plugin: "throwing_register_global", "partial")
                    throw TestFailure(description: "register crash")
                }),
            ], settings: settings)
            XCTFail("init must throw")
        } catch {
            XCTAssertEqual((error as? LifecycleError)?.phase, .register, "\(error)")
        }
    }

    // plugin_kit: init_rollback_test "register() failure rolls back the plugin and its partial registrations",
    // on the update path where the runtime survives to be asked.
    func testUpdate_whenARegisterFails_rollsBackItsPartialRegistrations() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [
            ScriptedGlobal(id: "late", flags: .experimental, register: { registry in
                try registry.registerSingleton("partial", plugin: "late", "partial")
                throw TestFailure(description: "register crash")
            }),
        ])
        await XCTAssertThrowsErrorAsync(try await runtime.updateSettings(RuntimeSettings().enabling("late", true)))
        XCTAssertEqual(runtime.globalRegistry.slots(of: "late"), [])
        XCTAssertEqual(runtime.attachedPlugins, [])
    }

    // plugin_kit: lifecycle_state_consistency_test "global-plugin attach throw leaves attachedGlobalPluginIds clean".
    func testUpdate_whenAGlobalPluginFailsToAttach_itIsNotAttached() async throws {
        let runtime = try await PluginRuntime(
            globalPlugins: [ScriptedGlobal(id: "global_attach_throw", attach: { _ in throw TestFailure(description: "global attach boom") })],
            settings: RuntimeSettings().enabling("global_attach_throw", false))
        await XCTAssertThrowsErrorAsync(try await runtime.updateSettings(RuntimeSettings().enabling("global_attach_throw", true)))
        XCTAssertEqual(runtime.attachedPlugins, [])
    }

    // plugin_kit: lifecycle_state_consistency_test "session-plugin register throw leaves session.isPluginEnabled false"
    // and "session-plugin attach throw ...".
    func testSessionUpdate_whenAPluginFailsToRegisterOrAttach_itIsNotAttached() async throws {
        let initial = RuntimeSettings().enabling("session_register_throw", false).enabling("session_attach_throw", false)
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([
            { ScriptedSession(id: "session_register_throw", register: { _, _ in throw TestFailure(description: "register boom") }) },
            { ScriptedSession(id: "session_attach_throw", attach: { _ in throw TestFailure(description: "attach boom") }) },
        ]), settings: initial)
        let session = try await runtime.createSession(id: "s", settings: initial)
        await XCTAssertThrowsErrorAsync(try await session.updateSettings(initial.enabling("session_register_throw", true)))
        await XCTAssertThrowsErrorAsync(try await session.updateSettings(initial.enabling("session_attach_throw", true)))
        let attached = await session.attachedPlugins
        XCTAssertEqual(attached, [])
    }

    // plugin_kit: failed_attach_cleanup_test "session enable: after plugin.attach() throws, the service's
    // attach-time subscription is cancelled".
    func testSessionUpdate_whenAttachFails_theServicesSubscriptionIsCancelled() async throws {
        let fired = Counter()
        let initial = RuntimeSettings().enabling("attach_throws_after_service", false)
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{
            ScriptedSession(
                id: "attach_throws_after_service",
                register: { registry, _ in
                    try registry.registerSingleton("svc", plugin: "attach_throws_after_service", RecordingService("svc", journal: Journal()) { context in
                        context.on(Note.self) { _ in fired.next() }
                    })
                },
                attach: { _ in throw TestFailure(description: "plugin.attach() boom") })
        }]), settings: initial)
        let session = try await runtime.createSession(id: "s")
        await XCTAssertThrowsErrorAsync(try await session.updateSettings(initial.enabling("attach_throws_after_service", true)))
        try await session.emit(Note(text: "marker"))
        XCTAssertEqual(fired.current, 0)
        let scope = try XCTUnwrap((session.handle as? InProcessSessionHandle)?.scope)
        XCTAssertNil(scope.registry.maybeResolve("svc", as: RecordingService.self))
    }
}
