import Foundation
import PluginKit
import XCTest

/// SessionScope on its own: what a worker process builds.
final class SessionScopeTests: XCTestCase {
    private func scope(_ settings: RuntimeSettings = RuntimeSettings(), journal: Journal = Journal(), id: SessionID = "s") async throws -> SessionScope {
        try await SessionScope(
            id: id,
            catalog: SessionPluginCatalog([{ SessionProbe(id: "a", journal: journal) }, { SessionProbe(id: "b", dependencies: ["a"], journal: journal) }]),
            settings: settings,
            globalBus: InProcessGlobalBus(bus: EventBus(), session: id))
    }

    func testStart_registersAndAttachesInDependencyOrder() async throws {
        let journal = Journal()
        _ = try await scope(journal: journal)
        XCTAssertEqual(journal.all, ["s.a.register", "s.b.register", "s.a.attach", "s.b.attach"])
    }

    func testEnabledAndAttached_matchAfterACleanStart() async throws {
        let scope = try await scope()
        let enabled = await scope.enabledPlugins
        let attached = await scope.attachedPlugins
        XCTAssertEqual(enabled, ["a", "b"])
        XCTAssertEqual(attached, ["a", "b"])
    }

    func testReconcile_reportsDetachedAndAttached() async throws {
        let scope = try await scope()
        let off = try await scope.reconcile(to: RuntimeSettings().enabling("a", false))
        XCTAssertEqual(off.detached, ["a", "b"], "b depends on a and cascades off")
        XCTAssertTrue(off.attached.isEmpty)
        let on = try await scope.reconcile(to: RuntimeSettings())
        XCTAssertEqual(on.attached, ["a", "b"])
    }

    func testReconcile_toTheSameSettings_attachesNothingAndTellsEveryPlugin() async throws {
        let scope = try await scope()
        let report = try await scope.reconcile(to: RuntimeSettings())
        XCTAssertTrue(report.attached.isEmpty)
        XCTAssertTrue(report.detached.isEmpty)
        XCTAssertEqual(report.changed, ["a", "b"])
    }

    func testReconcile_detachesInReverseDependencyOrder() async throws {
        let journal = Journal()
        let scope = try await scope(journal: journal)
        _ = try await scope.reconcile(to: RuntimeSettings().enabling("a", false))
        XCTAssertEqual(journal.all.filter { $0.hasSuffix("detach") }, ["s.b.detach", "s.a.detach"])
    }

    func testReconcile_updatesTheContextsSettings() async throws {
        let scope = try await scope()
        let new = RuntimeSettings().enabling("a", true, config: ["k": .int(3)])
        _ = try await scope.reconcile(to: new)
        XCTAssertEqual(scope.context.settings, new)
        XCTAssertEqual(scope.context.config(for: "a").int("k"), 3)
    }

    func testReconcile_invalidSettings_areRefusedAndNothingChanges() async throws {
        let scope = try await scope()
        do {
            _ = try await scope.reconcile(to: RuntimeSettings(services: ["x": ServiceSettings()]))
            XCTFail("expected a settings error")
        } catch is SettingsError {}
        let attached = await scope.attachedPlugins
        XCTAssertEqual(attached, ["a", "b"])
    }

    func testDispose_detachesEverythingAndDisposesTheBus() async throws {
        let scope = try await scope()
        try await scope.dispose()
        let attached = await scope.attachedPlugins
        XCTAssertTrue(attached.isEmpty)
        XCTAssertTrue(scope.bus.isDisposed)
    }

    func testDisposeTwice_isHarmless() async throws {
        let journal = Journal()
        let scope = try await scope(journal: journal)
        try await scope.dispose()
        try await scope.dispose()
        XCTAssertEqual(journal.all.filter { $0.hasSuffix("detach") }.count, 2)
    }

    func testReconcileAfterDispose_isRefused() async throws {
        let scope = try await scope()
        try await scope.dispose()
        do {
            _ = try await scope.reconcile(to: RuntimeSettings())
            XCTFail("expected disposed")
        } catch {
            XCTAssertEqual(error as? RuntimeError, .disposed)
        }
    }

    func testEmit_reachesTheSessionsPluginsAsComingFromTheGlobalScope() async throws {
        let scope = try await scope()
        let origins = Journal()
        scope.bus.on(Ping.self, priority: .lowest) { origins.add("\($0.origin)") }
        let envelope = try await scope.emit(Ping(value: 1))
        XCTAssertEqual(envelope.payload, Ping(value: 3))
        XCTAssertEqual(envelope.handlerCount, 3)
        XCTAssertEqual(origins.all, ["global"])
    }

    func testRequest_isAnsweredByTheSessionsPlugins() async throws {
        let scope = try await scope(id: "doc")
        let answer = try await scope.request(Ask(question: "q"))
        XCTAssertEqual(answer, "doc answers q")
    }

    func testInvalidStartSettings_areRefused() async {
        do {
            _ = try await scope(RuntimeSettings(services: ["nocolon": ServiceSettings()]))
            XCTFail("expected a settings error")
        } catch {
            XCTAssertTrue("\(error)".contains("nocolon"))
        }
    }

    func testDependencyOnAGlobalPlugin_isSatisfiedOnlyWhenGiven() async throws {
        let catalog = SessionPluginCatalog([{ SessionProbe(id: "needs", dependencies: ["global-x"]) }])
        let without = try await SessionScope(id: "1", catalog: catalog, settings: RuntimeSettings(), globalBus: InProcessGlobalBus(bus: EventBus(), session: "1"))
        let with = try await SessionScope(id: "2", catalog: catalog, settings: RuntimeSettings(), globalBus: InProcessGlobalBus(bus: EventBus(), session: "2"), globalPlugins: ["global-x"])
        let attachedWithout = await without.attachedPlugins
        let attachedWith = await with.attachedPlugins
        XCTAssertTrue(attachedWithout.isEmpty)
        XCTAssertEqual(attachedWith, ["needs"])
    }

    func testCatalog_readsDeclarationsAndBuildsFreshInstances() {
        let builds = Counter()
        let catalog = SessionPluginCatalog([{ builds.next(); return SessionProbe(id: "p", dependencies: ["q"], flags: .experimental) }])
        XCTAssertEqual(catalog.pluginIDs, ["p"])
        XCTAssertEqual(catalog.entries.first?.dependencies, ["q"])
        XCTAssertEqual(catalog.entries.first?.flags, .experimental)
        _ = catalog.entries.first?.make()
        XCTAssertEqual(builds.current, 2)
    }
}

final class RuntimeLifecycleTests: XCTestCase {
    func testDispose_disposesEverySessionThenTheGlobalPlugins() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "g", journal: journal)],
                                              sessionPlugins: SessionPluginCatalog([{ SessionProbe(id: "p", journal: journal) }]))
        _ = try await runtime.createSession(id: "one")
        await runtime.dispose()
        XCTAssertTrue(runtime.sessions.isEmpty)
        let order = journal.all.filter { $0.hasSuffix("detach") }
        XCTAssertEqual(order, ["one.p.detach", "g.detach"])
    }

    func testCreateSessionAfterDispose_isRefused() async throws {
        let runtime = try await PluginRuntime()
        await runtime.dispose()
        do {
            _ = try await runtime.createSession()
            XCTFail("expected disposed")
        } catch {
            XCTAssertEqual(error as? RuntimeError, .disposed)
        }
    }

    func testSessionIds_areUniqueWhenNotGiven() async throws {
        let runtime = try await PluginRuntime()
        let first = try await runtime.createSession()
        let second = try await runtime.createSession()
        XCTAssertNotEqual(first.id, second.id)
        XCTAssertEqual(runtime.sessions.count, 2)
    }

    func testSessionLookup_andRemoval() async throws {
        let runtime = try await PluginRuntime()
        let session = try await runtime.createSession(id: "x")
        XCTAssertTrue(runtime.session("x") === session)
        runtime.removeSession("x")
        XCTAssertNil(runtime.session("x"))
        XCTAssertTrue(runtime.context.sessions.ids.isEmpty)
    }

    func testPerSessionUpdate_changesOnlyThatSession() async throws {
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{ SessionProbe(id: "p") }]))
        let a = try await runtime.createSession(id: "a")
        let b = try await runtime.createSession(id: "b")
        let report = try await a.updateSettings(RuntimeSettings().enabling("p", false))
        XCTAssertEqual(report.detached, ["p"])
        let attachedA = await a.attachedPlugins
        let attachedB = await b.attachedPlugins
        XCTAssertTrue(attachedA.isEmpty)
        XCTAssertEqual(attachedB, ["p"])
    }

    // plugin_kit: reconcile.dart `updateSettings` reconciles every session in `_sessions`;
    // disabled_service_lifecycle_test "flipping a service from disabled back to enabled" relies on it.
    func testSessionCreatedWithItsOwnSettings_isMovedToTheRuntimesNewSettings() async throws {
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{ SessionProbe(id: "p") }]))
        let own = try await runtime.createSession(id: "own", settings: RuntimeSettings().enabling("p", true))
        let reports = try await runtime.updateSettings(RuntimeSettings().enabling("p", false))
        let attached = await own.attachedPlugins
        XCTAssertEqual(attached, [])
        XCTAssertEqual(reports["own"]?.detached, ["p"])
    }

    func testSettingsStream_servesSeveralListeners() async throws {
        let runtime = try await PluginRuntime()
        var first = runtime.settingsUpdates.makeAsyncIterator()
        var second = runtime.settingsUpdates.makeAsyncIterator()
        let new = RuntimeSettings().enabling("x", true)
        try runtime.updateSettingsSnapshot(new)
        let one = await first.next()
        let two = await second.next()
        XCTAssertEqual(one, new)
        XCTAssertEqual(two, new)
    }

    func testSettingsStream_finishesOnDispose() async throws {
        let runtime = try await PluginRuntime()
        let stream = runtime.settingsUpdates
        await runtime.dispose()
        var count = 0
        for await _ in stream { count += 1 }
        XCTAssertEqual(count, 0)
    }

    func testGlobalContext_exposesBusRegistryAndConfig() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "g")], settings: RuntimeSettings().enabling("g", true, config: ["name": .string("x")]))
        XCTAssertTrue(runtime.context.bus === runtime.globalBus)
        XCTAssertEqual(runtime.globalRegistry.maybeResolve("g.service", as: String.self), "service of g")
        XCTAssertEqual(runtime.context.config(for: "g").string("name"), "x")
    }

    func testInProcessGlobalBus_maybeRequest_returnsNilWhenNobodyAnswers() async throws {
        let access = InProcessGlobalBus(bus: EventBus(), session: "s")
        let answer = try await access.maybeRequest(Ask(question: "q"))
        XCTAssertNil(answer)
    }
}

final class RegistryListingTests: XCTestCase {
    func testSlots_listEverySlotOnceSorted() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("b", plugin: "p", 1)
        try registry.registerSingleton("a", plugin: "p", 2)
        try registry.registerSingleton("a", plugin: "q", 3)
        XCTAssertEqual(registry.slots, ["a", "b"])
        XCTAssertEqual(registry.slots(of: "q"), ["a"])
    }

    func testRegistrations_areInResolutionOrderIncludingDisabledOnes() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("s", plugin: "low", priority: .low, 1)
        try registry.registerSingleton("s", plugin: "high", priority: .high, 2)
        try registry.applyOverrides(from: RuntimeSettings(services: ["high:s": ServiceSettings(enabled: false)]))
        let listed = registry.registrations("s")
        XCTAssertEqual(listed.map(\.pluginId), ["high", "low"])
        XCTAssertEqual(listed.map(\.isEnabled), [false, true])
    }

    func testEveryRegistrationDisabled_leavesTheSlotUnresolvable() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("s", plugin: "only", 1)
        try registry.applyOverrides(from: RuntimeSettings(services: ["only:s": ServiceSettings(enabled: false)]))
        XCTAssertNil(registry.resolveRaw("s"))
        XCTAssertThrowsError(try registry.resolve("s", as: Int.self))
    }

    func testOverriddenPriority_isReportedBesideTheBase() throws {
        let registry = ServiceRegistry()
        try registry.registerSingleton("s", plugin: "p", priority: .low, 1)
        try registry.applyOverrides(from: RuntimeSettings(services: ["p:s": ServiceSettings(priority: 42)]))
        let raw = try XCTUnwrap(registry.resolveRaw("s"))
        XCTAssertEqual(raw.basePriority, .low)
        XCTAssertEqual(raw.priority, 42)
    }

    func testMissingCapability_readsAsNil() throws {
        struct Other: Capability {}
        let registry = ServiceRegistry()
        try registry.registerSingleton("s", plugin: "p", capabilities: [Badge(label: "x")], 1)
        XCTAssertNil(registry.resolveRaw("s")?.capability(Other.self))
    }

    func testErrorDescriptions_nameWhatIsWrong() {
        XCTAssertTrue(RegistryError.notRegistered("slot").description.contains("'slot'"))
        XCTAssertTrue(RegistryError.statefulFactory("s", plugin: "p").description.contains("'p'"))
        XCTAssertTrue(RuntimeError.updateInProgress.description.contains("already running"))
        XCTAssertTrue(RequestNotWired(request: "R", identifier: "i").description.contains("'i'"))
    }
}

final class ConfigValueTests: XCTestCase {
    func testConfigValue_roundTripsEveryShape() throws {
        let value = ConfigValue.object(["a": .array([.int(1), .double(2.5), .string("s"), .bool(false), .null]), "b": .object([:])])
        let data = try JSONEncoder().encode(value)
        XCTAssertEqual(try JSONDecoder().decode(ConfigValue.self, from: data), value)
    }

    func testIntegralJSONNumbers_decodeAsIntegers() throws {
        XCTAssertEqual(try JSONDecoder().decode(ConfigValue.self, from: Data("7".utf8)), .int(7))
        XCTAssertEqual(try JSONDecoder().decode(ConfigValue.self, from: Data("7.5".utf8)), .double(7.5))
    }

    func testConfigNodes_withEqualValues_hashEqual() {
        XCTAssertEqual(ConfigNode(["a": .int(1)]).hashValue, ConfigNode(["a": .int(1)]).hashValue)
        XCTAssertNotEqual(ConfigNode(["a": .int(1)]), ConfigNode(["a": .int(2)]))
    }
}
