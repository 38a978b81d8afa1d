import PluginKit
import XCTest

/// Issue 13, item 9: settings naming unknown plugins or services are refused by default,
/// naming the id, at every entry point; the policy can drop them instead.
final class UnknownReferenceTests: XCTestCase {
    private let alpha = ScriptedGlobal(id: "alpha", register: { try $0.registerSingleton("agent.model", plugin: "alpha", ConfiguredService()) })
    private let sessionAlpha = { @Sendable () -> any SessionPlugin in
        ScriptedSession(id: "session_alpha", register: { registry, _ in try registry.registerSingleton("chat.model", plugin: "session_alpha", ConfiguredService()) })
    }

    private func assertUnknown(_ references: [UnknownReference], at entryPoint: String, _ body: () async throws -> Void,
                               file: StaticString = #filePath, line: UInt = #line) async {
        do {
            try await body()
            XCTFail("expected an UnknownReferenceError", file: file, line: line)
        } catch let error as UnknownReferenceError {
            XCTAssertEqual(error.entryPoint, entryPoint, file: file, line: line)
            XCTAssertEqual(error.references, references, file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    // plugin_kit: settings_validate_plugin_ids_test "init rejects plugins map entries that reference unknown plugin ids".
    func testInit_refusesAnUnknownPluginIdNamingIt() async {
        await assertUnknown([.plugin("alphaa")], at: "init") {
            _ = try await PluginRuntime(globalPlugins: [alpha], settings: RuntimeSettings().enabling("alphaa", false))
        }
        let description = UnknownReferenceError(entryPoint: "init", references: [.plugin("alphaa")]).description
        XCTAssertTrue(description.contains("unknown plugin 'alphaa'"), description)
    }

    // plugin_kit: settings_validate_plugin_ids_test "init accepts plugins map entries that match a registered plugin".
    func testInit_acceptsKnownGlobalAndSessionPluginIds() async throws {
        let settings = RuntimeSettings().enabling("alpha", false).enabling("session_alpha", true)
        let runtime = try await PluginRuntime(globalPlugins: [alpha], sessionPlugins: SessionPluginCatalog([sessionAlpha]), settings: settings)
        XCTAssertEqual(runtime.settings, settings)
    }

    // plugin_kit: settings_validate_plugin_ids_test "updateSettings / createSession / updateSessionSettings reject ...".
    func testEveryEntryPoint_refusesAnUnknownPluginId() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [alpha])
        await assertUnknown([.plugin("not_a_real_plugin")], at: "updateSettings") {
            _ = try await runtime.updateSettings(RuntimeSettings().enabling("not_a_real_plugin", true))
        }
        await assertUnknown([.plugin("typo_id")], at: "createSession") {
            _ = try await runtime.createSession(settings: RuntimeSettings().enabling("typo_id", true))
        }
        let session = try await runtime.createSession(id: "s")
        await assertUnknown([.plugin("does_not_exist")], at: "updateSessionSettings") {
            _ = try await session.updateSettings(RuntimeSettings().enabling("does_not_exist", true))
        }
        XCTAssertEqual(runtime.settings, RuntimeSettings())
    }

    // plugin_kit: settings_validate_plugin_ids_test "services pin validation still rejects unknown plugin ids" and
    // cross_scope_partition_test "a misspelled plugin id in a service pin throws at init".
    func testInit_refusesAServicePinWithAnUnknownPlugin() async {
        await assertUnknown([.pinnedPlugin(key: "globl_plug:svc", plugin: "globl_plug")], at: "init") {
            _ = try await PluginRuntime(globalPlugins: [alpha], settings: RuntimeSettings(services: ["globl_plug:svc": ServiceSettings(config: ["k": .string("v")])]))
        }
    }

    // plugin_kit: settings_validate_service_ids_test "init throws when a pin references a service id the plugin did not register".
    func testInit_refusesAPinToAServiceThePluginDidNotRegister() async {
        await assertUnknown([.pinnedService(key: "alpha:agent.renamed_in_v2", plugin: "alpha", service: "agent.renamed_in_v2")], at: "init") {
            _ = try await PluginRuntime(globalPlugins: [alpha], settings: RuntimeSettings(services: ["alpha:agent.renamed_in_v2": ServiceSettings(config: ["k": .string("v")])]))
        }
    }

    // plugin_kit: settings_validate_service_ids_test "init under throwError accepts a pin that matches a registered service id".
    func testInit_acceptsAPinToARegisteredService() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [alpha], settings: RuntimeSettings(services: ["alpha:agent.model": ServiceSettings(config: ["k": .string("v")])]))
        XCTAssertEqual(try runtime.globalRegistry.resolve("agent.model", as: ConfiguredService.self).last?.config.string("k"), "v")
    }

    // plugin_kit: settings_validate_service_ids_test "createSession throws under default policy when a session pin
    // references an unregistered service id on the named plugin".
    func testCreateSession_refusesAPinToAServiceTheSessionPluginDidNotRegister() async throws {
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([sessionAlpha]))
        await assertUnknown([.pinnedService(key: "session_alpha:chat.removed_in_v3", plugin: "session_alpha", service: "chat.removed_in_v3")], at: "createSession") {
            _ = try await runtime.createSession(settings: RuntimeSettings(services: ["session_alpha:chat.removed_in_v3": ServiceSettings(config: ["k": .string("v")])]))
        }
        XCTAssertTrue(runtime.sessions.isEmpty)
    }

    // plugin_kit: settings_validate_service_ids_test "wildcard pins are NOT validated against service-id registration".
    func testWildcardPins_areNotValidated() async throws {
        _ = try await PluginRuntime(globalPlugins: [alpha], settings: RuntimeSettings(services: ["*:agent.unreleased": ServiceSettings(config: ["k": .string("v")])]))
    }

    // plugin_kit: cross_scope_partition_test "a global plugin pin in settings is applied at init and ignored at createSession".
    func testPinsOfTheOtherScope_areAppliedWhereTheyBelong() async throws {
        let settings = RuntimeSettings(services: [
            "alpha:agent.model": ServiceSettings(config: ["global_key": .string("global_value")]),
            "session_alpha:chat.model": ServiceSettings(config: ["session_key": .string("session_value")]),
        ])
        let runtime = try await PluginRuntime(globalPlugins: [alpha], sessionPlugins: SessionPluginCatalog([sessionAlpha]), settings: settings)
        XCTAssertEqual(try runtime.globalRegistry.resolve("agent.model", as: ConfiguredService.self).last?.config.string("global_key"), "global_value")
        let session = try await runtime.createSession(id: "s")
        let registry = try XCTUnwrap((session.handle as? InProcessSessionHandle)?.scope.registry)
        XCTAssertEqual(try registry.resolve("chat.model", as: ConfiguredService.self).last?.config.string("session_key"), "session_value")
    }

    // plugin_kit: settings_validate_plugin_ids_test "init with logAndSkip does NOT throw on an unknown plugin id and
    // logs once at severe with the unknown id".
    func testLogAndSkip_dropsTheEntriesAndLogsThemOnce() async throws {
        let logs = LogCapture()
        let runtime = try await PluginRuntime(globalPlugins: [alpha], settings: RuntimeSettings().enabling("alphaa", false).enabling("alpha", false),
                                              unknownReferences: .logAndSkip, logger: logs.logger)
        XCTAssertEqual(runtime.settings, RuntimeSettings().enabling("alpha", false), "the unknown entry is dropped, the known one kept")
        XCTAssertEqual(runtime.attachedPlugins, [])
        let errors = logs.errors(containing: "alphaa", "init")
        XCTAssertEqual(errors.count, 1)
    }

    // plugin_kit: settings_validate_service_ids_test "init under logAndSkip does NOT throw and logs once at severe
    // with the unknown service id".
    func testLogAndSkip_dropsAnUnknownServicePinAndLogsItOnce() async throws {
        let logs = LogCapture()
        _ = try await PluginRuntime(globalPlugins: [alpha], settings: RuntimeSettings(services: ["alpha:agent.renamed_in_v2": ServiceSettings(config: ["k": .string("v")])]),
                                    unknownReferences: .logAndSkip, logger: logs.logger)
        XCTAssertEqual(logs.errors(containing: "renamed_in_v2").count, 1)
    }

    // plugin_kit: settings_validate_plugin_ids_test "init with ignore policy does not throw and does not log severe".
    func testIgnore_dropsSilently() async throws {
        let logs = LogCapture()
        let runtime = try await PluginRuntime(globalPlugins: [alpha], settings: RuntimeSettings().enabling("alphaa", false),
                                              unknownReferences: .ignore, logger: logs.logger)
        XCTAssertEqual(runtime.settings, RuntimeSettings())
        XCTAssertEqual(logs.errors(containing: "alphaa").count, 0)
    }

    // plugin_kit: settings_validate_plugin_ids_test "updateSessionSettings with logAndSkip does NOT throw and still applies known overrides".
    func testLogAndSkip_onASessionUpdate_appliesTheKnownEntries() async throws {
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{ SessionProbe(id: "alpha") }]), unknownReferences: .logAndSkip)
        let session = try await runtime.createSession(id: "s")
        let report = try await session.updateSettings(RuntimeSettings().enabling("alpha", false).enabling("renamed_in_v2", true))
        XCTAssertEqual(report.detached, ["alpha"])
    }
}
