import Foundation
import PluginKit
import XCTest

final class SettingsTests: XCTestCase {
    func testRuntimeSettings_roundTripThroughJSON() throws {
        let settings = RuntimeSettings(
            plugins: ["a": PluginConfig(enabled: false, config: ["n": .int(3), "nested": .object(["x": .array([.bool(true), .null])])])],
            services: ["a:slot": ServiceSettings(enabled: true, priority: 7, config: ["s": .string("v")]), "*:other": ServiceSettings(priority: 1)])
        let data = try JSONEncoder().encode(settings)
        XCTAssertEqual(try JSONDecoder().decode(RuntimeSettings.self, from: data), settings)
    }

    func testDecoding_toleratesMissingSections() throws {
        let settings = try JSONDecoder().decode(RuntimeSettings.self, from: Data(#"{"plugins":{"a":{}}}"#.utf8))
        XCTAssertEqual(settings.plugins["a"], PluginConfig())
        XCTAssertTrue(settings.services.isEmpty)
    }

    func testMalformedServiceKeys_nameTheKey() {
        let cases: [(String, String)] = [("noColon", "expected"), (":slot", "plugin id is empty"), ("a:", "service id is empty"), ("a:b:c", "contains ':'")]
        for (key, reason) in cases {
            let settings = RuntimeSettings(services: [key: ServiceSettings()])
            XCTAssertThrowsError(try settings.validate(), key) { error in
                guard case .malformedServiceKey(let named, let why)? = error as? SettingsError else { return XCTFail("\(error)") }
                XCTAssertEqual(named, key)
                XCTAssertTrue(why.contains(reason), "\(key): \(why)")
                XCTAssertTrue("\(error)".contains("'\(key)'"))
            }
        }
    }

    func testEmptyPluginId_isRejected() {
        XCTAssertThrowsError(try RuntimeSettings(plugins: [" ": PluginConfig()]).validate()) { error in
            XCTAssertEqual(error as? SettingsError, .emptyPluginId)
        }
    }

    func testWellFormedKeys_validate() throws {
        try RuntimeSettings(services: ["a:slot": ServiceSettings(), "*:slot": ServiceSettings(), "a:panel.console": ServiceSettings()]).validate()
    }

    func testWildcardMerge_enabledAnds() {
        let merged = ServiceSettings(enabled: true).merged(withWildcard: ServiceSettings(enabled: false))
        XCTAssertEqual(merged.enabled, false)
        XCTAssertEqual(ServiceSettings(enabled: nil).merged(withWildcard: ServiceSettings(enabled: true)).enabled, true)
        XCTAssertEqual(ServiceSettings(enabled: false).merged(withWildcard: ServiceSettings()).enabled, false)
    }

    func testWildcardMerge_specificPriorityWinsIfSet() {
        XCTAssertEqual(ServiceSettings(priority: 5).merged(withWildcard: ServiceSettings(priority: 9)).priority, 5)
        XCTAssertEqual(ServiceSettings().merged(withWildcard: ServiceSettings(priority: 9)).priority, 9)
    }

    func testWildcardMerge_specificConfigWinsIfNonEmpty() {
        XCTAssertEqual(ServiceSettings(config: ["a": .int(1)]).merged(withWildcard: ServiceSettings(config: ["b": .int(2)])).config, ["a": .int(1)])
        XCTAssertEqual(ServiceSettings().merged(withWildcard: ServiceSettings(config: ["b": .int(2)])).config, ["b": .int(2)])
    }
}

final class WildcardPipelineTests: XCTestCase {
    private func registry() throws -> ServiceRegistry {
        let registry = ServiceRegistry()
        try registry.registerSingleton("slot", plugin: "winner", priority: .high, ConfiguredService())
        try registry.registerSingleton("slot", plugin: "runnerUp", ConfiguredService())
        return registry
    }

    func testWildcard_materialisesOntoTheWinner() throws {
        let registry = try registry()
        try registry.applyOverrides(from: RuntimeSettings(services: ["*:slot": ServiceSettings(config: ["k": .string("w")])]))
        let service: ConfiguredService = try registry.resolve("slot")
        XCTAssertEqual(service.last?.pluginId, "winner")
        XCTAssertEqual(service.last?.config.string("k"), "w")
    }

    func testSpecificOverride_priorityChangesTheWinner_andTheWildcardFollowsTheNewWinner() throws {
        let registry = try registry()
        try registry.applyOverrides(from: RuntimeSettings(services: [
            "runnerUp:slot": ServiceSettings(priority: Priority.system.value),
            "*:slot": ServiceSettings(config: ["k": .string("w")]),
        ]))
        let service: ConfiguredService = try registry.resolve("slot")
        XCTAssertEqual(service.last?.pluginId, "runnerUp")
        XCTAssertEqual(service.last?.config.string("k"), "w")
    }

    func testDisabledRegistration_isSkipped_resolutionFallsThrough() throws {
        let registry = try registry()
        try registry.applyOverrides(from: RuntimeSettings(services: ["winner:slot": ServiceSettings(enabled: false)]))
        let service: ConfiguredService = try registry.resolve("slot")
        XCTAssertEqual(service.last?.pluginId, "runnerUp")
    }

    func testSpecificConfig_beatsTheWildcardsOnTheWinner() throws {
        let registry = try registry()
        try registry.applyOverrides(from: RuntimeSettings(services: [
            "winner:slot": ServiceSettings(config: ["k": .string("specific")]),
            "*:slot": ServiceSettings(config: ["k": .string("wild")]),
        ]))
        let service: ConfiguredService = try registry.resolve("slot")
        XCTAssertEqual(service.last?.config.string("k"), "specific")
    }

    func testWildcardDisabling_turnsTheWinnerOff() throws {
        let registry = try registry()
        try registry.applyOverrides(from: RuntimeSettings(services: ["*:slot": ServiceSettings(enabled: false)]))
        let raw = registry.registrations("slot")
        XCTAssertEqual(raw.first { $0.pluginId == "winner" }?.isEnabled, false)
    }

    func testRemovingTheOverride_restoresTheBasePriority() throws {
        let registry = try registry()
        try registry.applyOverrides(from: RuntimeSettings(services: ["runnerUp:slot": ServiceSettings(priority: 99999)]))
        XCTAssertEqual(registry.resolveRaw("slot")?.pluginId, "runnerUp")
        try registry.applyOverrides(from: RuntimeSettings())
        XCTAssertEqual(registry.resolveRaw("slot")?.pluginId, "winner")
    }
}

final class ConfigNodeTests: XCTestCase {
    let node = ConfigNode(["int": .int(42), "intText": .string(" 7 "), "double": .double(2.5), "wholeDouble": .double(3),
                           "yes": .string("YES"), "one": .int(1), "flag": .bool(true), "text": .string("hi"),
                           "nested": .object(["deep": .int(1)]), "list": .array([.int(1)])])

    func testIntegers_coerceFromStringsAndWholeDoubles() {
        XCTAssertEqual(node.int("int"), 42)
        XCTAssertEqual(node.int("intText"), 7)
        XCTAssertEqual(node.int("wholeDouble"), 3)
        XCTAssertNil(node.int("double"))
        XCTAssertNil(node.int("text"))
        XCTAssertEqual(node.int("missing", default: 9), 9)
    }

    func testDoubles_coerceFromIntegersAndStrings() {
        XCTAssertEqual(node.double("double"), 2.5)
        XCTAssertEqual(node.double("int"), 42)
        XCTAssertEqual(node.double("intText"), 7)
    }

    func testBooleans_coerceFromWordsAndZeroOne() {
        XCTAssertEqual(node.bool("flag"), true)
        XCTAssertEqual(node.bool("yes"), true)
        XCTAssertEqual(node.bool("one"), true)
        XCTAssertNil(node.bool("int"))
        XCTAssertNil(node.bool("text"))
        XCTAssertEqual(node.bool("missing", default: false), false)
    }

    func testStrings_coerceFromScalars() {
        XCTAssertEqual(node.string("text"), "hi")
        XCTAssertEqual(node.string("int"), "42")
        XCTAssertEqual(node.string("flag"), "true")
        XCTAssertNil(node.string("list"))
    }

    func testNestedNodes_andMissingOnes() {
        XCTAssertEqual(node.node("nested").int("deep"), 1)
        XCTAssertTrue(node.node("missing").isEmpty)
        XCTAssertTrue(node.node("text").isEmpty)
    }
}
