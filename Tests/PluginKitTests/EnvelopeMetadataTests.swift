@_spi(SessionHost) import PluginKit
import Synchronization
import XCTest

/// What an emit's result says beyond the payload (handlers that ran, replaced payload, origin),
/// and the host entry points that dispatch values known only at run time.
final class EnvelopeMetadataTests: XCTestCase {
    func testHandlerCount_countsHandlersThatRan_notObservers() async throws {
        let bus = EventBus()
        bus.bind { _, _ in }
        bus.on(Ping.self) { _ in }
        bus.on(Ping.self, priority: .low) { _ in }
        bus.on(Ping.self, identifier: "other") { _ in }
        let envelope = try await bus.emit(Ping(value: 1))
        XCTAssertEqual(envelope.handlerCount, 2)
    }

    func testHandlerCount_isZeroWhenNobodyListens() async throws {
        let envelope = try await EventBus().emit(Ping(value: 1))
        XCTAssertEqual(envelope.handlerCount, 0)
    }

    func testHandlerCount_stopsCountingWhereTheCascadeStopped() async throws {
        let bus = EventBus()
        bus.on(Ping.self, priority: .high) { _ in }
        bus.on(Ping.self) { $0.stop() }
        bus.on(Ping.self, priority: .low) { _ in }
        let envelope = try await bus.emit(Ping(value: 1))
        XCTAssertEqual(envelope.handlerCount, 2)
    }

    func testHandlerCount_skipsAHandlerCancelledMidCascade() async throws {
        let bus = EventBus()
        let later = SubscriptionBox()
        bus.on(Ping.self, priority: .high) { _ in later.subscription?.cancel() }
        later.subscription = bus.on(Ping.self) { _ in }
        let envelope = try await bus.emit(Ping(value: 1))
        XCTAssertEqual(envelope.handlerCount, 1)
    }

    func testPayloadReplaced_onlyWhenAHandlerAssignedOrStoppedWithAValue() async throws {
        let bus = EventBus()
        bus.on(Ping.self) { _ in }
        let untouched = try await bus.emit(Ping(value: 1))
        XCTAssertFalse(untouched.isPayloadReplaced)

        let assigning = EventBus()
        assigning.on(Ping.self) { $0.payload.value += 1 }
        let assigned = try await assigning.emit(Ping(value: 1))
        XCTAssertTrue(assigned.isPayloadReplaced)

        let stopping = EventBus()
        stopping.on(Ping.self) { $0.stop(Ping(value: 9)) }
        let stopped = try await stopping.emit(Ping(value: 1))
        XCTAssertTrue(stopped.isPayloadReplaced)

        let plainStop = EventBus()
        plainStop.on(Ping.self) { $0.stop() }
        let plain = try await plainStop.emit(Ping(value: 1))
        XCTAssertFalse(plain.isPayloadReplaced)
    }

    func testLocalEmits_carryTheBussOwnScope() async throws {
        let origins = Journal()
        let global = EventBus(label: "global")
        let session = EventBus(label: "s", scope: .session("s"))
        for bus in [global, session] { bus.on(Ping.self) { origins.add("\($0.origin)") } }
        try await global.emit(Ping(value: 1))
        try await session.emit(Ping(value: 1))
        XCTAssertEqual(origins.all, ["global", "session s"])
    }

    func testSessionToGlobalEmitsAndRequests_carryTheSendingSession() async throws {
        let origins = Journal()
        let probe = ScriptedSession(id: "sender", attach: { context in
            try await context.globalBus.emit(Ping(value: 1))
            _ = try await context.globalBus.request(Ask(question: "who"))
        })
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{ probe }]))
        runtime.globalBus.on(Ping.self) { origins.add("event from \($0.origin)") }
        runtime.globalBus.onRequest(Ask.self) { _, context in
            origins.add("request from \(context.origin)")
            return "answer"
        }
        _ = try await runtime.createSession(id: "doc-7")
        XCTAssertEqual(origins.all, ["event from session doc-7", "request from session doc-7"])
    }

    func testHostEmitsIntoASession_andBroadcasts_carryTheGlobalOrigin() async throws {
        let origins = Journal()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{
            ScriptedSession(id: "listener", attach: { context in
                context.on(Ping.self, for: "listener") { origins.add("\(context.sessionID) got \($0.origin)") }
            })
        }]))
        let session = try await runtime.createSession(id: "a")
        try await session.emit(Ping(value: 1))
        let results = await runtime.context.sessions.emit(Ping(value: 2))
        XCTAssertEqual(origins.all, ["a got global", "a got global"])
        XCTAssertEqual(results["a"]?.envelope?.handlerCount, 1)
    }

    func testRequestContext_carriesTheIdentifier() async throws {
        let bus = EventBus()
        bus.onRequest(Ask.self, identifier: "tab") { ask, context in "\(ask.question) via \(context.identifier ?? "-") from \(context.origin)" }
        let answer = try await bus.request(Ask(question: "q"), identifier: "tab", origin: .session("s"))
        XCTAssertEqual(answer, "q via tab from session s")
    }

    func testObserveSubscribedTypes_reportsKnownTypesAtOnceAndNewOnesOnce() {
        let bus = EventBus()
        bus.on(Ping.self) { _ in }
        bus.onRequest(Ask.self) { _ in nil }
        let seen = Journal()
        bus.observeSubscribedTypes { seen.add(String(describing: $0)) }
        XCTAssertEqual(seen.all, ["event(PluginKitTests.Ping)", "request(PluginKitTests.Ask)"], "wire types come with their kind")
        bus.on(Ping.self, priority: .low) { _ in }
        bus.on(Note.self) { _ in }
        bus.onRequest(Ask.self, String.self) { _ in nil }
        XCTAssertEqual(seen.all, ["event(PluginKitTests.Ping)", "request(PluginKitTests.Ask)", "event(PluginKitTests.Note)"])
    }

    func testEmitOfAnExistentialWireEvent_runsItsDynamicTypesCascade() async throws {
        let bus = EventBus()
        bus.on(Ping.self) { $0.payload.value *= 2 }
        let event: any WireEvent = Ping(value: 21)
        let envelope = try await bus.emit(erased: event, identifier: nil, origin: .session("s"))
        XCTAssertEqual(envelope.payload as? Ping, Ping(value: 42))
        XCTAssertEqual(envelope.handlerCount, 1)
        XCTAssertTrue(envelope.isPayloadReplaced)
        XCTAssertFalse(envelope.isStopped)
    }

    func testRequestOfAnExistentialWireRequest_returnsItsResponse() async throws {
        let bus = EventBus()
        bus.onRequest(Ask.self) { "answer to \($0.question)" }
        let request: any WireRequest = Ask(question: "q")
        let answer = try await bus.request(erased: request, identifier: nil, origin: .global)
        XCTAssertEqual(answer as? String, "answer to q")
    }
}
