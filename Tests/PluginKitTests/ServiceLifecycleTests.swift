import PluginKit
import XCTest

/// Issue 13, items 4 and 11: stateful services follow their plugin and their own `enabled`
/// setting, in plugin_kit's order, and one failing service does not stop its peers.
final class ServiceLifecycleTests: XCTestCase {
    private func sneakyRuntime(_ journal: Journal, failAttach: Flag = Flag(), policy: UnknownReferencePolicy = .throwError) async throws -> PluginRuntime {
        try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{
            ServiceOwner(id: "sneaky", journal: journal, services: ["sneaky"], make: { id in
                RecordingService(id.rawValue, journal: journal, failAttach: failAttach.isSet)
            })
        }]), unknownReferences: policy)
    }

    private let disabled = RuntimeSettings(services: ["sneaky:sneaky": ServiceSettings(enabled: false)])

    // plugin_kit: disabled_service_lifecycle_test "service with enabled:false at session start does not run attach()".
    func testServiceDisabledAtStart_isNotAttached() async throws {
        let journal = Journal()
        let runtime = try await sneakyRuntime(journal)
        _ = try await runtime.createSession(id: "s", settings: disabled)
        XCTAssertEqual(journal.all, ["sneaky.attach"], "only the plugin attached, not its service")
    }

    // plugin_kit: disabled_service_lifecycle_test "flipping a service to enabled:false mid-session runs detach()".
    func testDisablingAServiceMidSession_detachesIt() async throws {
        let journal = Journal()
        let runtime = try await sneakyRuntime(journal)
        _ = try await runtime.createSession(id: "s")
        XCTAssertEqual(journal.all, ["sneaky.attach", "sneaky.attach"], "service, then plugin")
        _ = try await runtime.updateSettings(disabled)
        XCTAssertEqual(journal.all.filter { $0.hasSuffix(".detach") }, ["sneaky.detach"])
        XCTAssertEqual(journal.all.last, "sneaky.changed")
    }

    // plugin_kit: disabled_service_lifecycle_test "flipping a service from disabled back to enabled mid-session runs attach()".
    func testReEnablingAServiceMidSession_attachesIt() async throws {
        let journal = Journal()
        let runtime = try await sneakyRuntime(journal)
        _ = try await runtime.createSession(id: "s", settings: disabled)
        _ = try await runtime.updateSettings(RuntimeSettings(services: ["sneaky:sneaky": ServiceSettings()]))
        XCTAssertEqual(journal.all.filter { $0.hasSuffix(".attach") }.count, 2, "the plugin at start, the service on re-enable")
    }

    // plugin_kit: disabled_service_lifecycle_test "plugin disabled AND service disabled is a no-op".
    func testPluginAndServiceBothDisabled_attachesAndDetachesNothing() async throws {
        let journal = Journal()
        let runtime = try await sneakyRuntime(journal, policy: .logAndSkip)
        var settings = disabled
        settings.plugins["sneaky"] = PluginConfig(enabled: false)
        let session = try await runtime.createSession(id: "s", settings: settings)
        try await session.dispose()
        XCTAssertEqual(journal.all, [])
    }

    // plugin_kit: disabled_service_lifecycle_test "wildcard disable suppresses attach() for the winning service".
    func testWildcardDisable_suppressesTheServicesAttach() async throws {
        let journal = Journal()
        let runtime = try await sneakyRuntime(journal)
        _ = try await runtime.createSession(id: "s", settings: RuntimeSettings(services: ["*:sneaky": ServiceSettings(enabled: false)]))
        XCTAssertEqual(journal.all, ["sneaky.attach"])
    }

    // plugin_kit: disabled_service_lifecycle_test "re-enable attach() failure surfaces the error AND restores session state".
    func testReEnableAttachFailure_throwsAndRestoresTheDisabledState() async throws {
        let journal = Journal()
        let failAttach = Flag(true)
        let runtime = try await sneakyRuntime(journal, failAttach: failAttach)
        let session = try await runtime.createSession(id: "s", settings: disabled)
        await XCTAssertThrowsErrorAsync(try await runtime.updateSettings(RuntimeSettings(services: ["sneaky:sneaky": ServiceSettings()]))) { error in
            XCTAssertTrue("\(error)".contains("sneaky.attach: sneaky attach failed"), "\(error)")
        }
        XCTAssertEqual(journal.all.filter { $0.hasSuffix(".attach") }.count, 2, "the plugin at start, then the failed service attach")
        let scope = try XCTUnwrap((session.handle as? InProcessSessionHandle)?.scope)
        XCTAssertThrowsError(try scope.registry.resolve("sneaky", as: RecordingService.self)) { error in
            XCTAssertEqual(error as? RegistryError, .allDisabled("sneaky", candidates: ["sneaky"]))
        }
    }

    // plugin_kit: disabled_service_lifecycle_test "disabled service is unresolvable: resolve() throws, maybeResolve() returns null".
    func testDisabledService_isUnresolvable() async throws {
        let runtime = try await sneakyRuntime(Journal())
        let session = try await runtime.createSession(id: "s", settings: disabled)
        let registry = try XCTUnwrap((session.handle as? InProcessSessionHandle)?.scope.registry)
        XCTAssertThrowsError(try registry.resolve("sneaky", as: RecordingService.self))
        XCTAssertNil(registry.maybeResolve("sneaky", as: RecordingService.self))
    }

    // plugin_kit: plugin.dart `_runAttach`/`_runDetach`: services attach before the plugin's own attach and
    // detach after its own detach.
    func testServices_attachBeforeTheirPluginAndDetachAfterIt() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{
            ServiceOwner(id: "owner", journal: journal, services: ["first", "second"], make: { RecordingService($0.rawValue, journal: journal) })
        }]))
        let session = try await runtime.createSession(id: "s")
        try await session.dispose()
        XCTAssertEqual(journal.all, ["first.attach", "second.attach", "owner.attach", "owner.detach", "first.detach", "second.detach"])
    }

    // plugin_kit: multi_session_isolation_test "a service whose attach() throws does not block peer service attach()
    // or plugin attach(); failure still surfaces to runtime".
    func testServiceAttachFailure_doesNotStopPeersOrThePlugin_andFailsTheSession() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{
            ServiceOwner(id: "partial_attach_failure", journal: journal, services: ["throwing", "healthy"], make: { id in
                RecordingService(id.rawValue, journal: journal, failAttach: id == "throwing")
            })
        }]))
        await XCTAssertThrowsErrorAsync(try await runtime.createSession(id: "s")) { error in
            guard let error = error as? LifecycleError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.failures["partial_attach_failure"], "throwing.attach: throwing attach failed")
        }
        XCTAssertEqual(Array(journal.all.prefix(3)), ["throwing.attach", "healthy.attach", "partial_attach_failure.attach"])
    }

    // plugin_kit: multi_session_isolation_test "a service whose detach() throws does not block peer service detach;
    // failure still surfaces to runtime".
    func testServiceDetachFailure_doesNotStopPeers_andDisposeThrows() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{
            ServiceOwner(id: "partial_detach_failure", journal: journal, services: ["throwing", "recording"], make: { id in
                RecordingService(id.rawValue, journal: journal, failDetach: id == "throwing")
            })
        }]))
        let session = try await runtime.createSession(id: "s")
        await XCTAssertThrowsErrorAsync(try await session.dispose()) { error in
            XCTAssertEqual((error as? LifecycleError)?.failures["partial_detach_failure"], "throwing.detach: throwing detach failed")
        }
        XCTAssertTrue(journal.all.contains("throwing.detach"))
        XCTAssertTrue(journal.all.contains("recording.detach"))
    }

    // plugin_kit: multi_session_isolation_test "events on session A only update session A's service" and
    // "disposing session A leaves session B's service receiving events".
    func testEachSession_hasItsOwnServiceInstance_andDisposingOneLeavesTheOther() async throws {
        let heard = Journal()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{
            ServiceOwner(id: "counter_plugin", journal: Journal(), services: ["counter"], make: { _ in
                RecordingService("counter", journal: Journal()) { context in
                    context.on(Note.self) { heard.add("\(context.bus.label):\($0.payload.text)") }
                }
            })
        }]))
        let a = try await runtime.createSession(id: "a")
        let b = try await runtime.createSession(id: "b")
        try await a.emit(Note(text: "a-only"))
        try await b.emit(Note(text: "b-only"))
        try await a.dispose()
        try await b.emit(Note(text: "after-A-gone"))
        XCTAssertEqual(heard.all, ["a:a-only", "b:b-only", "b:after-A-gone"])
    }

    func testServiceSubscriptions_areCancelledWhenTheServiceIsDisabled() async throws {
        let heard = Counter()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{
            ServiceOwner(id: "sneaky", journal: Journal(), services: ["sneaky"], make: { _ in
                RecordingService("sneaky", journal: Journal()) { context in context.on(Note.self) { _ in heard.next() } }
            })
        }]))
        let session = try await runtime.createSession(id: "s")
        try await session.emit(Note(text: "1"))
        _ = try await runtime.updateSettings(disabled)
        try await session.emit(Note(text: "2"))
        XCTAssertEqual(heard.current, 1)
    }
}
