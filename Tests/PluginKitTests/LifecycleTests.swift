import PluginKit
import XCTest

final class DependencyCascadeTests: XCTestCase {
    func testStablePlugins_areOnAndExperimentalOff_byDefault() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "stable"), GlobalProbe(id: "new", flags: .experimental)])
        XCTAssertEqual(runtime.enabledPlugins, ["stable"])
    }

    func testExplicitSettings_overrideTheDefault() async throws {
        let settings = RuntimeSettings().enabling("new", true).enabling("stable", false)
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "stable"), GlobalProbe(id: "new", flags: .experimental)], settings: settings)
        XCTAssertEqual(runtime.attachedPlugins, ["new"])
    }

    func testLockedPlugin_staysOnWhatever() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "core", flags: .locked)], settings: RuntimeSettings().enabling("core", false))
        XCTAssertEqual(runtime.attachedPlugins, ["core"])
    }

    func testDisabledDependency_cascadesTransitively() async throws {
        let plugins = [GlobalProbe(id: "base"), GlobalProbe(id: "mid", dependencies: ["base"]), GlobalProbe(id: "top", dependencies: ["mid"]), GlobalProbe(id: "free")]
        let runtime = try await PluginRuntime(globalPlugins: plugins, settings: RuntimeSettings().enabling("base", false))
        XCTAssertEqual(runtime.attachedPlugins, ["free"])
        XCTAssertTrue(runtime.configurationProblems.contains(.dependencyDisabled("mid", dependency: "base")))
        XCTAssertTrue(runtime.configurationProblems.contains(.dependencyDisabled("top", dependency: "mid")))
    }

    func testUnknownDependency_disablesThePlugin() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "lonely", dependencies: ["ghost"])])
        XCTAssertEqual(runtime.attachedPlugins, [])
    }

    func testLockedPluginWithMissingDependency_staysOnAndIsReported() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "core", dependencies: ["ghost"], flags: .locked)])
        XCTAssertEqual(runtime.attachedPlugins, ["core"])
        XCTAssertEqual(runtime.configurationProblems, [.lockedDependencyMissing("core", dependency: "ghost")])
    }

    // plugin_kit: dependency_cycle_test "cyclic plugins still attach".
    func testSatisfiedCycle_isReportedAndItsMembersStillAttach() async throws {
        let plugins = [GlobalProbe(id: "a", dependencies: ["b"]), GlobalProbe(id: "b", dependencies: ["c"]), GlobalProbe(id: "c", dependencies: ["a"]), GlobalProbe(id: "d")]
        let runtime = try await PluginRuntime(globalPlugins: plugins)
        XCTAssertEqual(runtime.attachedPlugins, ["a", "b", "c", "d"])
        XCTAssertTrue(runtime.configurationProblems.contains(.cycle(["a", "b", "c"])), "\(runtime.configurationProblems)")
    }

    func testDependencies_attachBeforeTheirDependents() async throws {
        let journal = Journal()
        let plugins = [GlobalProbe(id: "z-top", dependencies: ["a-base"], journal: journal), GlobalProbe(id: "a-base", journal: journal)]
        _ = try await PluginRuntime(globalPlugins: plugins)
        let attaches = journal.all.filter { $0.hasSuffix(".attach") }
        XCTAssertEqual(attaches, ["a-base.attach", "z-top.attach"])
    }

    func testSessionPlugin_mayDependOnAnEnabledGlobalPlugin() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "global")],
                                              sessionPlugins: SessionPluginCatalog([{ SessionProbe(id: "uses-global", dependencies: ["global"]) }]))
        let session = try await runtime.createSession()
        let attached = await session.attachedPlugins
        XCTAssertEqual(attached, ["uses-global"])
    }

    func testDuplicatePluginIds_areRejected() async {
        do {
            _ = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "same"), GlobalProbe(id: "same")])
            XCTFail("expected duplicatePlugin")
        } catch {
            XCTAssertEqual(error as? RuntimeError, .duplicatePlugin("same"))
        }
    }
}

final class FailedAttachTests: XCTestCase {
    func testFailingAttach_isRolledBack_othersStillAttach() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "bad", failAttach: true), GlobalProbe(id: "good")])
        XCTAssertEqual(runtime.attachedPlugins, ["good"])
        XCTAssertNil(runtime.globalRegistry.maybeResolve("bad.service", as: String.self), "its services are unregistered")
        XCTAssertEqual(runtime.globalRegistry.maybeResolve("good.service", as: String.self), "service of good")
        XCTAssertTrue(runtime.enabledPlugins.contains("bad"), "enabled is the settings' intent; attached is the truth")
    }

    func testFailingAttach_cancelsTheSubscriptionsItMade() async throws {
        let journal = Journal()
        let plugin = GlobalProbe(id: "bad", failAttach: false, onAttach: { context in
            context.on(Note.self, for: "bad") { _ in journal.add("still subscribed") }
            throw TestFailure(description: "after subscribing")
        })
        let runtime = try await PluginRuntime(globalPlugins: [plugin])
        try await runtime.globalBus.emit(Note(text: ""))
        XCTAssertFalse(journal.all.contains("still subscribed"))
        XCTAssertEqual(runtime.attachedPlugins, [])
    }

    func testLifecycleErrors_aggregateNamingPhaseAndEveryPlugin() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "x", failAttach: true), GlobalProbe(id: "y", failAttach: true), GlobalProbe(id: "z")])
        let error = try XCTUnwrap(runtime.startupFailures.first)
        XCTAssertEqual(error.phase, .attach)
        XCTAssertEqual(Set(error.failures.keys), ["x", "y"])
        XCTAssertTrue(error.description.contains("attach failed in global for 2 plugin(s)"), error.description)
    }

    func testFailingRegister_failsTheStartWithoutAttachingAnything() async throws {
        let journal = Journal()
        do {
            _ = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "bad", journal: journal, failRegister: true), GlobalProbe(id: "good", journal: journal)])
            XCTFail("the start must fail")
        } catch let error as LifecycleError {
            XCTAssertEqual(error.phase, .register)
            XCTAssertEqual(Array(error.failures.keys), ["bad"])
        }
        XCTAssertFalse(journal.all.contains { $0.hasSuffix(".attach") })
    }

    func testDetachFailure_doesNotStopOtherDetaches() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "a", journal: journal, failDetach: true), GlobalProbe(id: "b", journal: journal)])
        await runtime.dispose()
        XCTAssertTrue(journal.all.contains("a.detach"))
        XCTAssertTrue(journal.all.contains("b.detach"))
        XCTAssertEqual(runtime.attachedPlugins, [])
    }

    func testTrackedSubscriptions_areCancelledAfterDetach() async throws {
        let journal = Journal()
        let plugin = GlobalProbe(id: "listener", onAttach: { context in
            context.on(Note.self, for: "listener") { _ in journal.add("heard") }
        })
        let runtime = try await PluginRuntime(globalPlugins: [plugin])
        try await runtime.globalBus.emit(Note(text: ""))
        _ = try await runtime.updateSettings(RuntimeSettings().enabling("listener", false))
        try await runtime.globalBus.emit(Note(text: ""))
        XCTAssertEqual(journal.all, ["heard"])
    }

    func testStatefulService_isAttachedWithItsPluginAndDetachedBeforeIt() async throws {
        struct Owner: GlobalPlugin {
            let id: PluginID = "owner"
            let service: StatefulService
            func register(_ registry: ServiceRegistry, context: GlobalPluginContext) throws {
                try registry.registerSingleton("stateful", plugin: id, service)
            }
        }
        let service = StatefulService()
        let runtime = try await PluginRuntime(globalPlugins: [Owner(service: service)])
        XCTAssertEqual(service.journal.all, ["attach"])
        XCTAssertThrowsError(try runtime.globalRegistry.registerSingleton("stateful", plugin: "owner", StatefulService())) { error in
            XCTAssertEqual(error as? RegistryError, .replacingAttachedService("stateful", plugin: "owner"))
        }
        await runtime.dispose()
        XCTAssertEqual(service.journal.all, ["attach", "detach"])
    }
}
