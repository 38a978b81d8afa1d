import PluginKit
import Synchronization
import XCTest

final class ConfiguredService: PluginService {
    let configurations = Mutex<[ServiceConfiguration]>([])
    func configure(_ configuration: ServiceConfiguration) { configurations.withLock { $0.append(configuration) } }
    var count: Int { configurations.withLock { $0.count } }
    var last: ServiceConfiguration? { configurations.withLock { $0.last } }
}

final class StatefulService: StatefulPluginService {
    let journal = Journal()
    func configure(_ configuration: ServiceConfiguration) {}
    func attach(_ context: ServiceContext) async throws { journal.add("attach") }
    func detach() async { journal.add("detach") }
}

struct Badge: Capability, Equatable { var label: String }

final class RegistryTests: XCTestCase {
    func testSingleton_isTheSameInstanceEveryResolve() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("slot", plugin: "a", Counter())
        let first: Counter = try registry.resolve("slot")
        let second: Counter = try registry.resolve("slot")
        XCTAssertTrue(first === second)
    }

    func testLazySingleton_isBuiltOnFirstResolveThenCached() throws {
        let registry = ServiceRegistry()
        let builds = Counter()
        try registry.registerLazySingleton("slot", plugin: "a") { builds.next(); return Counter() }
        XCTAssertEqual(builds.current, 0)
        let first: Counter = try registry.resolve("slot")
        let second: Counter = try registry.resolve("slot")
        XCTAssertEqual(builds.current, 1)
        XCTAssertTrue(first === second)
    }

    func testFactory_buildsANewInstancePerResolve() throws {
        let registry = ServiceRegistry()
        try registry.registerFactory("slot", plugin: "a") { Counter() }
        let first: Counter = try registry.resolve("slot")
        let second: Counter = try registry.resolve("slot")
        XCTAssertFalse(first === second)
    }

    func testStatefulServiceAsFactory_isRejectedNamingSlotAndPlugin() {
        let registry = ServiceRegistry()
        XCTAssertThrowsError(try registry.registerFactory("slot", plugin: "a") { StatefulService() }) { error in
            XCTAssertEqual(error as? RegistryError, .statefulFactory("slot", plugin: "a"))
        }
    }

    func testResolve_emptySlot_throwsNamingTheSlot() {
        let registry = ServiceRegistry()
        XCTAssertThrowsError(try registry.resolve("missing", as: Counter.self)) { error in
            XCTAssertEqual(error as? RegistryError, .notRegistered("missing"))
            XCTAssertTrue("\(error)".contains("missing"))
        }
    }

    func testMaybeResolve_returnsNilForAnEmptySlot() {
        XCTAssertNil(ServiceRegistry().maybeResolve("missing", as: Counter.self))
    }

    func testResolve_wrongType_isATypedError() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("slot", plugin: "a", "a string")
        XCTAssertThrowsError(try registry.resolve("slot", as: Counter.self)) { error in
            guard case .typeMismatch(let slot, _, _)? = error as? RegistryError else { return XCTFail("\(error)") }
            XCTAssertEqual(slot, "slot")
        }
    }

    func testHighestPriority_winsTheSlot() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("slot", plugin: "low", priority: .low, "low")
        try registry.registerSingleton("slot", plugin: "high", priority: .high, "high")
        try registry.registerSingleton("slot", plugin: "normal", "normal")
        XCTAssertEqual(try registry.resolve("slot", as: String.self), "high")
    }

    func testEqualPriority_earliestRegistrationWins() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("slot", plugin: "first", "first")
        try registry.registerSingleton("slot", plugin: "second", "second")
        XCTAssertEqual(try registry.resolve("slot", as: String.self), "first")
    }

    func testResolveAfter_givesTheNextRegistrationForLayering() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("slot", plugin: "top", priority: .high, "top")
        try registry.registerSingleton("slot", plugin: "middle", "middle")
        try registry.registerSingleton("slot", plugin: "bottom", priority: .low, "bottom")
        XCTAssertEqual(try registry.resolveAfter(plugin: "top", serviceId: "slot", as: String.self), "middle")
        XCTAssertEqual(try registry.resolveAfter(plugin: "middle", serviceId: "slot", as: String.self), "bottom")
        // plugin_kit: service_registry_test, resolveAfter past the last registration throws naming plugin and slot.
        XCTAssertThrowsError(try registry.resolveAfter(plugin: "bottom", serviceId: "slot", as: String.self)) { error in
            XCTAssertEqual(error as? RegistryError, .nothingAfter("slot", plugin: "bottom"))
            XCTAssertTrue("\(error)".contains("'slot'") && "\(error)".contains("'bottom'"))
        }
    }

    func testResolveAfter_unknownPlugin_isAnError() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("slot", plugin: "a", "a")
        XCTAssertThrowsError(try registry.resolveAfter(plugin: "nobody", serviceId: "slot", as: String.self)) { error in
            XCTAssertEqual(error as? RegistryError, .noRegistration("slot", plugin: "nobody"))
        }
    }

    func testResolveRaw_readsCapabilitiesWithoutBuilding() throws {
        let registry = ServiceRegistry()
        let builds = Counter()
        try registry.registerLazySingleton("slot", plugin: "a", capabilities: [Badge(label: "fast")]) { builds.next(); return Counter() }
        let raw = try XCTUnwrap(registry.resolveRaw("slot"))
        XCTAssertEqual(raw.capability(Badge.self), Badge(label: "fast"))
        XCTAssertEqual(raw.pluginId, "a")
        XCTAssertEqual(raw.kind, .lazySingleton)
        XCTAssertEqual(builds.current, 0)
    }

    func testSamePluginRegisteringAgain_replacesItsRegistration() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("slot", plugin: "a", "old")
        try registry.registerSingleton("slot", plugin: "a", "new")
        XCTAssertEqual(try registry.resolve("slot", as: String.self), "new")
        XCTAssertEqual(registry.registrations("slot").count, 1)
    }

    func testUnregisterAll_removesEveryRegistrationOfThePlugin() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("one", plugin: "a", "1")
        try registry.registerSingleton("two", plugin: "a", "2")
        try registry.registerSingleton("two", plugin: "b", priority: .low, "b2")
        XCTAssertEqual(registry.unregisterAll(plugin: "a"), ["one", "two"])
        XCTAssertNil(registry.maybeResolve("one", as: String.self))
        XCTAssertEqual(try registry.resolve("two", as: String.self), "b2")
    }

    func testPluginService_getsItsStampedIdentityAndConfig() throws {
        let registry = ServiceRegistry()
        let service = ConfiguredService()
        try registry.registerSingleton("slot", plugin: "a", service)
        let resolved: ConfiguredService = try registry.resolve("slot")
        XCTAssertEqual(resolved.last?.pluginId, "a")
        XCTAssertEqual(resolved.last?.serviceId, "slot")
        XCTAssertTrue(resolved.last?.config.isEmpty ?? false)
    }

    func testSingleton_isReconfiguredOnlyWhenItsSettingsChange() throws {
        let runtimeSettings = RuntimeSettings(services: ["a:slot": ServiceSettings(config: ["k": .int(1)])])
        let registry = ServiceRegistry()
        let service = ConfiguredService()
        try registry.registerSingleton("slot", plugin: "a", service)
        try registry.applyOverrides(from: runtimeSettings)
        _ = try registry.resolve("slot", as: ConfiguredService.self)
        _ = try registry.resolve("slot", as: ConfiguredService.self)
        XCTAssertEqual(service.count, 1)
        try registry.applyOverrides(from: RuntimeSettings(services: ["a:slot": ServiceSettings(config: ["k": .int(2)])]))
        _ = try registry.resolve("slot", as: ConfiguredService.self)
        XCTAssertEqual(service.count, 2)
        XCTAssertEqual(service.last?.config.int("k"), 2)
    }

    func testFactory_isConfiguredOnEveryResolve() throws {
        let registry = ServiceRegistry()
        let builds = Mutex<[ConfiguredService]>([])
        try registry.registerFactory("slot", plugin: "a") {
            let service = ConfiguredService()
            builds.withLock { $0.append(service) }
            return service
        }
        _ = try registry.resolve("slot", as: ConfiguredService.self)
        _ = try registry.resolve("slot", as: ConfiguredService.self)
        XCTAssertEqual(builds.withLock { $0.map(\.count) }, [1, 1])
    }

    func testNamespace_buildsAndMatchesDescendants() {
        let panel = Namespace("panel")
        XCTAssertEqual(panel("console"), ServiceID("panel.console"))
        XCTAssertTrue(panel.contains("panel.console"))
        XCTAssertTrue(panel.contains("panel.console.tab"))
        XCTAssertFalse(panel.contains("panelist"))
        XCTAssertFalse(panel.contains("other.console"))
        XCTAssertEqual(panel.child("side")("x"), ServiceID("panel.side.x"))
    }

    func testPriorityStops_andHelpers() {
        XCTAssertEqual([Priority.lowest, .low, .normal, .elevated, .high, .system].map(\.value), [0, 100, 500, 1000, 5000, 10000])
        XCTAssertEqual(Priority.normal.above(10).value, 510)
        XCTAssertEqual(Priority.normal.below().value, 499)
        XCTAssertLessThan(Priority.low, Priority.high)
    }
}
