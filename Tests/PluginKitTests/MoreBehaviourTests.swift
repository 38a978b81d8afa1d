import Foundation
import PluginKit
import XCTest

final class IdentifierTests: XCTestCase {
    func testIds_areTypedCodableAsStringsAndOrdered() throws {
        let id: PluginID = "b"
        XCTAssertEqual(String(decoding: try JSONEncoder().encode(id), as: UTF8.self), "\"b\"")
        XCTAssertEqual(try JSONDecoder().decode(ServiceID.self, from: Data("\"x.y\"".utf8)), "x.y")
        XCTAssertLessThan(PluginID("a"), PluginID("b"))
        XCTAssertEqual(SessionID("s").description, "s")
    }

    func testGeneratedSessionIds_differ() {
        XCTAssertNotEqual(SessionID.make(), SessionID.make())
    }

    func testPriority_isCodableAsAPlainNumber() throws {
        XCTAssertEqual(String(decoding: try JSONEncoder().encode(Priority.high), as: UTF8.self), "5000")
        XCTAssertEqual(try JSONDecoder().decode(Priority.self, from: Data("7".utf8)), 7)
    }
}

final class BusDetailTests: XCTestCase {
    func testEnvelope_carriesTheIdentifier() async throws {
        let bus = EventBus()
        let seen = Journal()
        bus.on(Note.self, identifier: "tab-1") { envelope in seen.add(envelope.identifier ?? "-") }
        let envelope = try await bus.emit(Note(text: ""), identifier: "tab-1")
        XCTAssertEqual(envelope.identifier, "tab-1")
        XCTAssertEqual(seen.all, ["tab-1"])
    }

    func testCancelledObserver_seesNothingMore() async throws {
        let bus = EventBus()
        let seen = Journal()
        let observer = bus.bind { _, _ in seen.add("seen") }
        try await bus.emit(Note(text: ""))
        observer.cancel()
        try await bus.emit(Note(text: ""))
        XCTAssertEqual(seen.all, ["seen"])
    }

    func testRequestWithIdentifier_prefersNoOneButSkipsOthers() async throws {
        let bus = EventBus()
        bus.onRequest(Ask.self, priority: .high, identifier: "other") { _ in "other" }
        bus.onRequest(Ask.self, identifier: "mine") { _ in "mine" }
        bus.onRequest(Ask.self, priority: .low) { _ in "general" }
        let answer = try await bus.request(Ask(question: ""), identifier: "mine")
        XCTAssertEqual(answer, "mine")
    }

    func testCancelledResponder_isNotAsked() async throws {
        let bus = EventBus()
        let first = bus.onRequest(Ask.self, priority: .high) { _ in "first" }
        bus.onRequest(Ask.self) { _ in "second" }
        first.cancel()
        let answer = try await bus.request(Ask(question: ""))
        XCTAssertEqual(answer, "second")
    }

    func testStoppedBroadcast_isReportedAsStopped() async throws {
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{ SessionProbe(id: "p") }]))
        let session = try await runtime.createSession(id: "s")
        (session.handle as? InProcessSessionHandle)?.scope.bus.on(Ping.self, priority: .system) { $0.stop() }
        let results = await runtime.context.sessions.emit(Ping(value: 1))
        guard case .stopped(let envelope)? = results["s"] else { return XCTFail("expected stopped") }
        XCTAssertEqual(envelope.payload.value, 1)
    }

    func testBroadcastToNoSessions_isEmpty() async throws {
        let runtime = try await PluginRuntime()
        let results = await runtime.context.sessions.emit(Ping(value: 1))
        XCTAssertTrue(results.isEmpty)
    }
}

final class EnablementDetailTests: XCTestCase {
    func testExperimentalPlugin_explicitlyEnabled_pullsItsDependencyRuleIn() async throws {
        let plugins = [GlobalProbe(id: "base"), GlobalProbe(id: "beta", dependencies: ["base"], flags: .experimental)]
        let runtime = try await PluginRuntime(globalPlugins: plugins, settings: RuntimeSettings().enabling("beta", true))
        XCTAssertEqual(runtime.attachedPlugins, ["base", "beta"])
    }

    func testReEnablingADependency_bringsItsDependentsBack() async throws {
        let plugins = [GlobalProbe(id: "base"), GlobalProbe(id: "top", dependencies: ["base"])]
        let runtime = try await PluginRuntime(globalPlugins: plugins, settings: RuntimeSettings().enabling("base", false))
        XCTAssertEqual(runtime.attachedPlugins, [])
        let report = try await runtime.updateSettings(RuntimeSettings())
        XCTAssertEqual(report["global"]?.attached, ["base", "top"])
    }

    func testDisablingADependency_detachesDependentsFirst() async throws {
        let journal = Journal()
        let plugins = [GlobalProbe(id: "base", journal: journal), GlobalProbe(id: "top", dependencies: ["base"], journal: journal)]
        let runtime = try await PluginRuntime(globalPlugins: plugins)
        _ = try await runtime.updateSettings(RuntimeSettings().enabling("base", false))
        XCTAssertEqual(journal.all.filter { $0.hasSuffix("detach") }, ["top.detach", "base.detach"])
    }

    // plugin_kit: dependency_cycle_test "a single-node self-cycle (P depends on P) emits a severe log".
    func testSelfDependency_isReportedAsACycleAndStillAttaches() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "ouroboros", dependencies: ["ouroboros"])])
        XCTAssertEqual(runtime.attachedPlugins, ["ouroboros"])
        XCTAssertTrue(runtime.configurationProblems.contains(.cycle(["ouroboros"])))
    }

    func testProblemDescriptions_nameThePlugins() {
        XCTAssertTrue(ConfigurationProblem.dependencyDisabled("a", dependency: "b").description.contains("a is off because its dependency b is off"))
        XCTAssertTrue(ConfigurationProblem.cycle(["a", "b"]).description.contains("a → b"))
    }
}

final class SettingsDetailTests: XCTestCase {
    func testPluginConfig_withoutConfig_decodesEmpty() throws {
        let config = try JSONDecoder().decode(PluginConfig.self, from: Data(#"{"enabled":false}"#.utf8))
        XCTAssertEqual(config, PluginConfig(enabled: false))
    }

    func testServiceSettings_decodeEveryField() throws {
        let settings = try JSONDecoder().decode(ServiceSettings.self, from: Data(#"{"enabled":true,"priority":9,"config":{"k":"v"}}"#.utf8))
        XCTAssertEqual(settings, ServiceSettings(enabled: true, priority: 9, config: ["k": .string("v")]))
    }

    func testMalformedDocument_failsToDecode() {
        XCTAssertThrowsError(try JSONDecoder().decode(RuntimeSettings.self, from: Data(#"{"plugins":{"a":{"enabled":"yes"}}}"#.utf8)))
    }

    func testFailedUpdate_errorNamesTheScopeAndPhase() async throws {
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "late", flags: .experimental, failAttach: true)])
        do {
            _ = try await runtime.updateSettings(RuntimeSettings().enabling("late", true))
            XCTFail("expected a failure")
        } catch let failure as ReconcileFailure {
            XCTAssertEqual(failure.scope, "global")
            XCTAssertEqual(failure.errors.first?.phase, .attach)
            XCTAssertTrue(failure.description.contains("late"))
        }
        XCTAssertEqual(runtime.attachedPlugins, [])
    }
}
