import PluginKit
import XCTest

/// Issue 13, items 5, 14, 15 and 16: cycles, shared ids, intent versus truth, and the settings
/// snapshot after dispose.
final class EnablementFidelityTests: XCTestCase {
    // plugin_kit: dependency_cycle_test "a satisfied two-node cycle (A <-> B, both enabled) emits a severe log
    // naming both ids" and "cyclic plugins still attach".
    func testSatisfiedTwoNodeCycle_isLoggedAsAnErrorAndAttaches() async throws {
        let logs = LogCapture()
        let runtime = try await PluginRuntime(globalPlugins: [
            ScriptedGlobal(id: "cycle_a", dependencies: ["cycle_b"]), ScriptedGlobal(id: "cycle_b", dependencies: ["cycle_a"]),
        ], logger: logs.logger)
        XCTAssertEqual(runtime.attachedPlugins, ["cycle_a", "cycle_b"])
        XCTAssertEqual(logs.errors(containing: "cycle", "cycle_a", "cycle_b").count, 1)
    }

    // plugin_kit: dependency_cycle_test "a single-node self-cycle (P depends on P) emits a severe log".
    func testSelfCycle_isLoggedAsAnError() async throws {
        let logs = LogCapture()
        _ = try await PluginRuntime(globalPlugins: [ScriptedGlobal(id: "self_cycle", dependencies: ["self_cycle"])], logger: logs.logger)
        XCTAssertEqual(logs.errors(containing: "cycle", "self_cycle").count, 1)
    }

    // plugin_kit: dependency_cycle_test "a non-cyclic dependency graph ... does not emit any cycle log".
    func testAcyclicGraph_logsNoCycle() async throws {
        let logs = LogCapture()
        _ = try await PluginRuntime(globalPlugins: [ScriptedGlobal(id: "a"), ScriptedGlobal(id: "b", dependencies: ["a"])], logger: logs.logger)
        XCTAssertEqual(logs.errors(containing: "cycle").count, 0)
    }

    // plugin_kit: dependency_cycle_test "a three-node cycle (A <- B <- C <- A) emits a severe log".
    func testCycleWithADownstreamMember_logsTheCycle() async throws {
        let logs = LogCapture()
        let runtime = try await PluginRuntime(globalPlugins: [
            ScriptedGlobal(id: "cycle_a", dependencies: ["cycle_b"]), ScriptedGlobal(id: "cycle_b", dependencies: ["cycle_a"]),
            ScriptedGlobal(id: "cycle_c", dependencies: ["cycle_a"]),
        ], logger: logs.logger)
        XCTAssertEqual(logs.errors(containing: "cycle_a → cycle_b").count, 1)
        XCTAssertEqual(runtime.attachedPlugins, ["cycle_a", "cycle_b", "cycle_c"])
    }

    func testCycleWithADisabledMember_cascadesOff() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [
            ScriptedGlobal(id: "cycle_a", dependencies: ["cycle_b"]), ScriptedGlobal(id: "cycle_b", dependencies: ["cycle_a"]),
        ], settings: RuntimeSettings().enabling("cycle_b", false))
        XCTAssertEqual(runtime.attachedPlugins, [])
    }

    // plugin_kit: runtime_test "addPlugin rejects duplicate pluginIds" (a global and a session plugin).
    func testGlobalAndSessionPlugin_mayNotShareAnId() async {
        await XCTAssertThrowsErrorAsync(try await PluginRuntime(globalPlugins: [GlobalProbe(id: "dup")],
                                                                sessionPlugins: SessionPluginCatalog([{ SessionProbe(id: "dup") }]))) { error in
            XCTAssertEqual(error as? RuntimeError, .duplicatePlugin("dup"))
        }
    }

    // plugin_kit: bug_hunt/iter_19_pluginruntime_constructor_duplicate_pluginid_test.
    func testTwoSessionPlugins_mayNotShareAnId() async {
        await XCTAssertThrowsErrorAsync(try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{ SessionProbe(id: "dup") }, { SessionProbe(id: "dup") }]))) { error in
            XCTAssertEqual(error as? RuntimeError, .duplicatePlugin("dup"))
            XCTAssertTrue("\(error)".contains("'dup'"))
        }
    }

    // plugin_kit: dependency_cascade_test "enabledPlugins reports settings-intent, not runtime-effective state".
    func testEnabledPlugins_isIntent_attachedIsTruth() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([
            { SessionProbe(id: "a", dependencies: ["b"], journal: journal) }, { SessionProbe(id: "b", journal: journal) },
        ]))
        _ = try await runtime.updateSettings(RuntimeSettings().enabling("b", false))
        let session = try await runtime.createSession(id: "s")
        let attached = await session.attachedPlugins
        XCTAssertEqual(attached, [], "a is cascade-disabled because b is off")
        XCTAssertFalse(journal.all.contains { $0.contains(".a.") })
        XCTAssertTrue(runtime.enabledPlugins.contains("a"), "the settings still intend a")
        XCTAssertFalse(runtime.enabledPlugins.contains("b"))
        let sessionEnabled = await session.enabledPlugins
        XCTAssertEqual(sessionEnabled, ["a"])
    }

    func testEnabledPlugins_ofAGlobalPluginWithAMissingDependency_stillListsIt() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "lonely", dependencies: ["ghost"]), GlobalProbe(id: "beta", flags: .experimental)])
        XCTAssertEqual(runtime.enabledPlugins, ["lonely"])
        XCTAssertEqual(runtime.attachedPlugins, [])
    }

    // plugin_kit: bug_hunt/iter_06_update_settings_snapshot_after_dispose_mutates_state_test.
    func testSnapshotAfterDispose_isRefusedAndChangesNothing() async throws {
        let runtime = try await PluginRuntime()
        let before = runtime.settings
        await runtime.dispose()
        XCTAssertThrowsError(try runtime.updateSettingsSnapshot(RuntimeSettings().enabling("plugin_after_dispose", false))) { error in
            XCTAssertEqual(error as? RuntimeError, .disposed)
        }
        XCTAssertEqual(runtime.settings, before)
    }

    // plugin_kit: runtime_test "updateSettingsSnapshot is no-op for identical settings".
    func testSnapshotOfIdenticalSettings_publishesNothing() async throws {
        let runtime = try await PluginRuntime()
        let stream = runtime.settingsUpdates
        try runtime.updateSettingsSnapshot(runtime.settings)
        let new = RuntimeSettings().enabling("x", true)
        try runtime.updateSettingsSnapshot(new)
        var iterator = stream.makeAsyncIterator()
        let first = await iterator.next()
        XCTAssertEqual(first, new, "the identical snapshot was not published before it")
    }

    func testSettingsStream_madeAfterDispose_isFinished() async throws {
        let runtime = try await PluginRuntime()
        await runtime.dispose()
        var iterator = runtime.settingsUpdates.makeAsyncIterator()
        let next = await iterator.next()
        XCTAssertNil(next)
    }
}
