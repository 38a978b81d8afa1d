import PluginKit
import XCTest

/// Issue 13, items 6 and 19: a wildcard's `enabled` covers the slot, its config reaches whoever
/// wins, and its priority binds to the winner at materialisation without moving on its own.
final class WildcardFidelityTests: XCTestCase {
    private func registry(alpha: Int, beta: Int) throws -> ServiceRegistry {
        let registry = ServiceRegistry()
        try registry.registerSingleton("agent.model", plugin: "alpha", priority: Priority(alpha), ConfiguredService())
        try registry.registerSingleton("agent.model", plugin: "beta", priority: Priority(beta), ConfiguredService())
        return registry
    }

    // plugin_kit: wildcard_pipeline_test "disabled wildcard disables the winning slot".
    func testWildcardDisable_disablesTheWholeSlot() throws {
        let registry = try registry(alpha: 100, beta: 50)
        try registry.applyOverrides(from: RuntimeSettings(services: ["*:agent.model": ServiceSettings(enabled: false)]))
        XCTAssertThrowsError(try registry.resolve("agent.model", as: ConfiguredService.self)) { error in
            XCTAssertEqual(error as? RegistryError, .allDisabled("agent.model", candidates: ["alpha", "beta"]))
            XCTAssertTrue("\(error)".contains("disabled by settings"))
        }
        XCTAssertNil(registry.resolveRaw("agent.model"), "the runner-up does not take the slot")
    }

    // plugin_kit: wildcard_pipeline_test "wildcard disable AND-merges with plugin-specific priority bump".
    func testWildcardDisable_andsWithAPluginSpecificPriorityBump() throws {
        let registry = try registry(alpha: 100, beta: 50)
        try registry.applyOverrides(from: RuntimeSettings(services: [
            "*:agent.model": ServiceSettings(enabled: false),
            "beta:agent.model": ServiceSettings(priority: 200),
        ]))
        XCTAssertThrowsError(try registry.resolve("agent.model", as: ConfiguredService.self))
    }

    // plugin_kit: wildcard_pipeline_test "wildcard priority binds to the winner only, not its rivals".
    func testWildcardPriority_bindsToTheWinnerOnly() throws {
        let registry = try registry(alpha: 50, beta: 100)
        try registry.applyOverrides(from: RuntimeSettings(services: ["*:agent.model": ServiceSettings(priority: 200)]))
        let byPlugin = Dictionary(uniqueKeysWithValues: registry.registrations("agent.model").map { ($0.pluginId, $0) })
        XCTAssertEqual(byPlugin["beta"]?.priority, 200)
        XCTAssertEqual(byPlugin["beta"]?.basePriority, 100)
        XCTAssertEqual(byPlugin["alpha"]?.priority, 50)
    }

    // plugin_kit: wildcard_pipeline_test "wildcard priority survives the winner re-registering".
    func testWildcardPriority_survivesTheWinnerReRegistering() throws {
        let registry = try registry(alpha: 50, beta: 100)
        try registry.applyOverrides(from: RuntimeSettings(services: ["*:agent.model": ServiceSettings(priority: 200)]))
        try registry.registerSingleton("agent.model", plugin: "beta", priority: 75, ConfiguredService())
        let raw = try XCTUnwrap(registry.resolveRaw("agent.model"))
        XCTAssertEqual(raw.pluginId, "beta")
        XCTAssertEqual(raw.priority, 200)
        XCTAssertEqual(raw.basePriority, 75)
    }

    // plugin_kit: wildcard_pipeline_test pipeline notes, "priority transfers are not automatic on winner changes".
    func testWildcardPriority_staysWithTheOldWinnerWhenItReRegistersBelowARival() throws {
        let registry = try registry(alpha: 50, beta: 100)
        try registry.applyOverrides(from: RuntimeSettings(services: ["*:agent.model": ServiceSettings(priority: 200)]))
        try registry.registerSingleton("agent.model", plugin: "beta", priority: 10, ConfiguredService())
        let byPlugin = Dictionary(uniqueKeysWithValues: registry.registrations("agent.model").map { ($0.pluginId, $0.priority) })
        XCTAssertEqual(byPlugin, ["beta": 200, "alpha": 50])
        XCTAssertEqual(registry.resolveRaw("agent.model")?.pluginId, "beta")
    }

    // plugin_kit: wildcard_pipeline_test "wildcard config persists when winner changes".
    func testWildcardConfig_reachesALaterHigherPriorityWinner() throws {
        let registry = try registry(alpha: 100, beta: 50)
        try registry.applyOverrides(from: RuntimeSettings(services: ["*:agent.model": ServiceSettings(config: ["source": .string("wildcard")])]))
        XCTAssertEqual(try registry.resolve("agent.model", as: ConfiguredService.self).last?.pluginId, "alpha")
        try registry.registerSingleton("agent.model", plugin: "gamma", priority: 300, ConfiguredService())
        let after: ConfiguredService = try registry.resolve("agent.model")
        XCTAssertEqual(after.last?.pluginId, "gamma")
        XCTAssertEqual(after.last?.config.string("source"), "wildcard")
    }

    // plugin_kit: wildcard_pipeline_test "priority-only plugin-specific lets wildcard config flow into the now-winning plugin".
    func testPriorityOnlySpecificOverride_letsTheWildcardConfigIn() throws {
        let registry = try registry(alpha: 100, beta: 50)
        try registry.applyOverrides(from: RuntimeSettings(services: [
            "*:agent.model": ServiceSettings(config: ["temperature": .double(0.5)]),
            "beta:agent.model": ServiceSettings(priority: 200),
        ]))
        let raw = try XCTUnwrap(registry.resolveRaw("agent.model"))
        XCTAssertEqual(raw.pluginId, "beta")
        XCTAssertEqual(raw.priority, 200)
        XCTAssertEqual(try registry.resolve("agent.model", as: ConfiguredService.self).last?.config.double("temperature"), 0.5)
    }

    // plugin_kit: wildcard_pipeline_test "updateSettings restamps an existing wrapper when a new plugin-specific
    // priority lands" and "... reverts a wrapper when the priority override is removed".
    func testUpdate_restampsAndRevertsPriorityOverridesOnTheLiveRegistry() async throws {
        let plugins = ["alpha": 100, "beta": 50].map { id, priority in
            ScriptedGlobal(id: PluginID(id), register: { try $0.registerSingleton("agent.model", plugin: PluginID(id), priority: Priority(priority), ConfiguredService()) })
        }
        let runtime = try await PluginRuntime(globalPlugins: plugins)
        XCTAssertEqual(runtime.globalRegistry.resolveRaw("agent.model")?.pluginId, "alpha")
        _ = try await runtime.updateSettings(RuntimeSettings(services: ["beta:agent.model": ServiceSettings(priority: 200)]))
        XCTAssertEqual(runtime.globalRegistry.resolveRaw("agent.model")?.pluginId, "beta")
        _ = try await runtime.updateSettings(RuntimeSettings())
        XCTAssertEqual(runtime.globalRegistry.resolveRaw("agent.model")?.pluginId, "alpha")
        XCTAssertEqual(runtime.globalRegistry.registrations("agent.model").last?.priority, 50)
    }

    // plugin_kit: cross_scope_partition_test "a wildcard service pin survives both init and createSession partitions".
    func testWildcardPin_reachesTheGlobalAndTheSessionWinner() async throws {
        let settings = RuntimeSettings(services: ["*:svc": ServiceSettings(config: ["shared": .string("wildcard_value")])])
        let runtime = try await PluginRuntime(
            globalPlugins: [ScriptedGlobal(id: "global_plug", register: { try $0.registerSingleton("svc", plugin: "global_plug", ConfiguredService()) })],
            sessionPlugins: SessionPluginCatalog([{
                ScriptedSession(id: "session_plug", register: { registry, _ in try registry.registerSingleton("svc", plugin: "session_plug", ConfiguredService()) })
            }]),
            settings: settings)
        XCTAssertEqual(try runtime.globalRegistry.resolve("svc", as: ConfiguredService.self).last?.config.string("shared"), "wildcard_value")
        let session = try await runtime.createSession(id: "s", settings: settings)
        let registry = try XCTUnwrap((session.handle as? InProcessSessionHandle)?.scope.registry)
        XCTAssertEqual(try registry.resolve("svc", as: ConfiguredService.self).last?.config.string("shared"), "wildcard_value")
    }
}

extension WildcardFidelityTests {
    // plugin_kit: wildcard_pipeline_test "wildcard for unregistered service is silently dropped".
    func testWildcardForAnEmptySlot_isDroppedAndDoesNotReachALaterRegistration() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("agent.model", plugin: "alpha", ConfiguredService())
        try registry.applyOverrides(from: RuntimeSettings(services: ["*:nonexistent.service": ServiceSettings(config: ["k": .string("v")])]))
        let service: ConfiguredService = try registry.resolve("agent.model")
        XCTAssertEqual(service.last?.config.isEmpty, true)
        try registry.registerSingleton("nonexistent.service", plugin: "late", ConfiguredService())
        XCTAssertNil(registry.resolveRaw("nonexistent.service")?.settings)
    }
}
