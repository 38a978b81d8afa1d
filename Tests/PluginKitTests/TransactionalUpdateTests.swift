import PluginKit
import Synchronization
import XCTest

/// Issue 13, items 2, 3, 7 and 8: one update moves every scope, cross-scope dependencies
/// included, or none; disposing mid-update ends it; every plugin hears about it.
final class TransactionalUpdateTests: XCTestCase {
    /// Counts `session_dependent` detaches across sessions; the detaches after `throwAfter` fail.
    final class DetachGate: Sendable {
        private let state = Mutex((count: 0, throwAfter: -1))
        func arm(after count: Int) { state.withLock { $0.throwAfter = count } }
        func disarm() { state.withLock { $0.throwAfter = -1 } }
        func detach() throws {
            let fail = state.withLock { state -> Bool in
                state.count += 1
                return state.throwAfter >= 0 && state.count > state.throwAfter
            }
            if fail { throw TestFailure(description: "intentional detach throw on session_dependent") }
        }
    }

    private func crossScopeRuntime(_ gate: DetachGate) async throws -> PluginRuntime {
        try await PluginRuntime(
            globalPlugins: [ScriptedGlobal(id: "global_dep")],
            sessionPlugins: SessionPluginCatalog([
                { ScriptedSession(id: "session_dependent", dependencies: ["global_dep"], detach: { _ in try gate.detach() }) },
            ]))
    }

    func testDisablingAGlobalPlugin_detachesDependentSessionPluginsInTheSameUpdate() async throws {
        let runtime = try await crossScopeRuntime(DetachGate())
        let session = try await runtime.createSession(id: "s")
        let reports = try await runtime.updateSettings(RuntimeSettings().enabling("global_dep", false))
        XCTAssertEqual(reports["global"]?.detached, ["global_dep"])
        XCTAssertEqual(reports["s"]?.detached, ["session_dependent"])
        let attached = await session.attachedPlugins
        XCTAssertEqual(attached, [])
        let back = try await runtime.updateSettings(RuntimeSettings())
        XCTAssertEqual(back["s"]?.attached, ["session_dependent"], "re-enabling the global plugin brings the dependent back")
    }

    // plugin_kit: transactional_update_settings_test "rollback restores cross-scope dependency state in the right order".
    func testRollback_restoresCrossScopeDependencyState() async throws {
        let gate = DetachGate()
        let runtime = try await crossScopeRuntime(gate)
        let session1 = try await runtime.createSession(id: "s1")
        _ = try await runtime.createSession(id: "s2")
        gate.arm(after: 1)
        await XCTAssertThrowsErrorAsync(try await runtime.updateSettings(RuntimeSettings().enabling("global_dep", false)))
        gate.disarm()
        let attached = await session1.attachedPlugins
        XCTAssertEqual(attached, ["session_dependent"], "session 1 was moved and must be back")
        XCTAssertEqual(runtime.attachedPlugins, ["global_dep"])
        XCTAssertEqual(runtime.settings, RuntimeSettings())
    }

    // plugin_kit: transactional_update_settings_test "rollback also reverts the in-flight session that threw mid-reconcile".
    func testRollback_revertsTheSessionThatFailedMidway() async throws {
        let gate = DetachGate()
        let runtime = try await crossScopeRuntime(gate)
        _ = try await runtime.createSession(id: "s1")
        let session2 = try await runtime.createSession(id: "s2")
        gate.arm(after: 1)
        await XCTAssertThrowsErrorAsync(try await runtime.updateSettings(RuntimeSettings().enabling("global_dep", false)))
        gate.disarm()
        let attached = await session2.attachedPlugins
        XCTAssertEqual(attached, ["session_dependent"])
    }

    // plugin_kit: transactional_update_settings_test "mid-loop attach failure leaves all sessions on the old state".
    func testMidLoopAttachFailure_leavesEverySessionOnTheOldState() async throws {
        let attaches = Counter()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{
            ScriptedSession(id: "session_gated_thrower", flags: .experimental, attach: { _ in
                if attaches.next() == 2 { throw TestFailure(description: "intentional attach throw on the second session") }
            })
        }]))
        let sessions = [try await runtime.createSession(id: "s1"), try await runtime.createSession(id: "s2"), try await runtime.createSession(id: "s3")]
        await XCTAssertThrowsErrorAsync(try await runtime.updateSettings(RuntimeSettings().enabling("session_gated_thrower", true)))
        for session in sessions {
            let attached = await session.attachedPlugins
            XCTAssertEqual(attached, [], "\(session.id)")
        }
        XCTAssertTrue(runtime.settings.plugins.isEmpty)
    }

    // plugin_kit: reconcile.dart, rollback returns each session to its own previous settings.
    func testRollback_returnsASessionWithItsOwnSettingsToThem() async throws {
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([
            { SessionProbe(id: "p") },
            { ScriptedSession(id: "bomb", flags: .experimental, attach: { _ in throw TestFailure(description: "bomb") }) },
        ]))
        let own = try await runtime.createSession(id: "own", settings: RuntimeSettings().enabling("p", false))
        await XCTAssertThrowsErrorAsync(try await runtime.updateSettings(RuntimeSettings().enabling("bomb", true)))
        let attached = await own.attachedPlugins
        XCTAssertEqual(attached, [], "back on its own settings, which disable p")
    }

    // plugin_kit: bug_hunt/iter_08_dispose_during_update_settings_adds_to_closed_stream_test.
    func testDispose_duringAnUpdate_failsTheUpdateAndTheRuntimeStaysDisposed() async throws {
        let started = Gate(parties: 2)
        let release = Gate(parties: 2)
        let detaches = Counter()
        let service = RecordingService("svc", journal: Journal())
        let blocking = ScriptedGlobal(id: "g", register: { try $0.registerSingleton("svc", plugin: "g", service) })
        let runtime = try await PluginRuntime(globalPlugins: [blocking])
        let before = runtime.settings
        service.onDetach = {
            if detaches.next() == 1 {
                try? await started.arriveAndWait()
                try? await release.arriveAndWait()
            }
        }
        let update = Task { try await runtime.updateSettings(RuntimeSettings(services: ["g:svc": ServiceSettings(enabled: false)])) }
        try await started.arriveAndWait()
        await runtime.dispose()
        try await release.arriveAndWait()
        do {
            _ = try await update.value
            XCTFail("the update must fail")
        } catch {
            XCTAssertEqual(error as? RuntimeError, .disposed)
        }
        XCTAssertEqual(runtime.settings, before)
        await XCTAssertThrowsErrorAsync(try await runtime.createSession()) { XCTAssertEqual($0 as? RuntimeError, .disposed) }
        await XCTAssertThrowsErrorAsync(try await runtime.updateSettings(RuntimeSettings())) { XCTAssertEqual($0 as? RuntimeError, .disposed) }
    }

    // plugin_kit: bug_hunt/iter_05 and reconcile.dart: onPluginSettingsChanged runs for every enabled
    // plugin after every update, service-only changes included.
    func testServiceOnlyChange_tellsEveryAttachedPlugin() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(
            globalPlugins: [GlobalProbe(id: "g", journal: journal)],
            sessionPlugins: SessionPluginCatalog([{ ServiceOwner(id: "s", journal: journal, services: ["s.svc"], make: { RecordingService($0.rawValue, journal: journal) }) }]))
        _ = try await runtime.createSession(id: "one")
        let reports = try await runtime.updateSettings(RuntimeSettings(services: ["s:s.svc": ServiceSettings(config: ["phase": .string("new")])]))
        XCTAssertEqual(reports["global"]?.changed, ["g"])
        XCTAssertEqual(reports["one"]?.changed, ["s"])
        XCTAssertTrue(journal.all.contains("g.changed"))
        XCTAssertTrue(journal.all.contains("s.changed"))
    }

    // plugin_kit: bug_hunt/iter_05_update_session_settings_notify_failure_leaves_live_registry_mutated_test.
    func testNotifyFailure_restoresThePreviousServiceOverrides() async throws {
        let failNotify = Flag()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{
            ScriptedSession(
                id: "notify_thrower",
                register: { registry, _ in try registry.registerSingleton("notify_thrower.service", plugin: "notify_thrower", ConfiguredService()) },
                changed: { _ in if failNotify.isSet { throw TestFailure(description: "notify failed") } })
        }]))
        let old = RuntimeSettings(services: ["notify_thrower:notify_thrower.service": ServiceSettings(config: ["phase": .string("old")])])
        let session = try await runtime.createSession(id: "s", settings: old)
        let scope = try XCTUnwrap((session.handle as? InProcessSessionHandle)?.scope)
        XCTAssertEqual(try scope.registry.resolve("notify_thrower.service", as: ConfiguredService.self).last?.config.string("phase"), "old")
        failNotify.set()
        let new = RuntimeSettings(services: ["notify_thrower:notify_thrower.service": ServiceSettings(config: ["phase": .string("new")])])
        await XCTAssertThrowsErrorAsync(try await session.updateSettings(new)) { error in
            XCTAssertTrue("\(error)".contains("notify failed"), "\(error)")
        }
        let service: ConfiguredService = try scope.registry.resolve("notify_thrower.service")
        XCTAssertEqual(service.last?.config.string("phase"), "old")
    }

    // plugin_kit: settings_reentry_test "updateSettings releases the guard when reconciliation throws".
    func testFailedUpdate_releasesTheGuard() async throws {
        let runtime = try await PluginRuntime(
            globalPlugins: [ScriptedGlobal(id: "throw_on_enable", attach: { _ in throw TestFailure(description: "attach boom") })],
            settings: RuntimeSettings().enabling("throw_on_enable", false))
        await XCTAssertThrowsErrorAsync(try await runtime.updateSettings(RuntimeSettings().enabling("throw_on_enable", true)))
        let report = try await runtime.updateSettings(RuntimeSettings().enabling("throw_on_enable", false))
        XCTAssertEqual(report["global"]?.attached, [])
    }

    // plugin_kit: coverage/update_session_settings_reentry_guard_test.
    func testPerSessionUpdate_duringARuntimeUpdate_isRefused() async throws {
        let entered = Gate(parties: 2)
        let release = Gate(parties: 2)
        let slow = ScriptedGlobal(id: "slow", flags: .experimental, attach: { _ in
            try await entered.arriveAndWait()
            try await release.arriveAndWait()
        })
        let runtime = try await PluginRuntime(globalPlugins: [slow])
        let session = try await runtime.createSession(id: "s")
        let update = Task { try await runtime.updateSettings(RuntimeSettings().enabling("slow", true)) }
        try await entered.arriveAndWait()
        await XCTAssertThrowsErrorAsync(try await session.updateSettings(RuntimeSettings())) { XCTAssertEqual($0 as? RuntimeError, .updateInProgress) }
        try await release.arriveAndWait()
        _ = try await update.value
        XCTAssertEqual(runtime.attachedPlugins, ["slow"])
    }
}
