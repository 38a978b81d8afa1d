import PluginKit
import XCTest

final class EventBusTests: XCTestCase {
    func testHandlers_runInDescendingPriority_stableAmongEquals() async throws {
        let bus = EventBus()
        let journal = Journal()
        bus.on(Note.self, priority: .low) { _ in journal.add("low") }
        bus.on(Note.self, priority: .high) { _ in journal.add("high") }
        bus.on(Note.self) { _ in journal.add("normal-1") }
        bus.on(Note.self) { _ in journal.add("normal-2") }
        try await bus.emit(Note(text: ""))
        XCTAssertEqual(journal.all, ["high", "normal-1", "normal-2", "low"])
    }

    func testMutation_isSeenByLaterHandlersAndTheEmitter() async throws {
        let bus = EventBus()
        bus.on(Ping.self, priority: .high) { $0.payload.value *= 10 }
        bus.on(Ping.self, priority: .low) { $0.payload.value += 1 }
        let envelope = try await bus.emit(Ping(value: 2))
        XCTAssertEqual(envelope.payload.value, 21)
        XCTAssertFalse(envelope.isStopped)
    }

    func testStop_endsTheCascadeAndPinsTheValue() async throws {
        let bus = EventBus()
        let journal = Journal()
        bus.on(Ping.self, priority: .high) { $0.stop(Ping(value: 99)) }
        bus.on(Ping.self, priority: .low) { _ in journal.add("late") }
        let envelope = try await bus.emit(Ping(value: 1))
        XCTAssertTrue(envelope.isStopped)
        XCTAssertEqual(envelope.payload.value, 99)
        XCTAssertEqual(journal.all, [])
    }

    func testStopWithoutValue_keepsTheCurrentPayload() async throws {
        let bus = EventBus()
        bus.on(Ping.self) { envelope in
            envelope.payload.value = 5
            envelope.stop()
        }
        let envelope = try await bus.emit(Ping(value: 1))
        XCTAssertEqual(envelope.payload.value, 5)
    }

    func testHandlerError_propagatesToTheEmitterAndEndsTheCascade() async {
        let bus = EventBus()
        let journal = Journal()
        bus.on(Ping.self, priority: .high) { _ in throw TestFailure(description: "boom") }
        bus.on(Ping.self, priority: .low) { _ in journal.add("late") }
        do {
            try await bus.emit(Ping(value: 1))
            XCTFail("expected the handler's error")
        } catch {
            XCTAssertEqual("\(error)", "boom")
        }
        XCTAssertEqual(journal.all, [])
    }

    func testIdentifier_reachesGeneralAndMatchingHandlersOnly() async throws {
        let bus = EventBus()
        let journal = Journal()
        bus.on(Note.self) { _ in journal.add("general") }
        bus.on(Note.self, identifier: "a") { _ in journal.add("a") }
        bus.on(Note.self, identifier: "b") { _ in journal.add("b") }
        try await bus.emit(Note(text: ""), identifier: "a")
        XCTAssertEqual(journal.all, ["general", "a"])
    }

    func testNoIdentifier_reachesGeneralHandlersOnly() async throws {
        let bus = EventBus()
        let journal = Journal()
        bus.on(Note.self) { _ in journal.add("general") }
        bus.on(Note.self, identifier: "a") { _ in journal.add("a") }
        try await bus.emit(Note(text: ""))
        XCTAssertEqual(journal.all, ["general"])
    }

    func testHandlersOfOtherTypes_areNotCalled() async throws {
        let bus = EventBus()
        let journal = Journal()
        bus.on(Note.self) { _ in journal.add("note") }
        try await bus.emit(Ping(value: 1))
        XCTAssertEqual(journal.all, [])
    }

    func testBind_seesEveryEventFirstAndCannotStopIt() async throws {
        let bus = EventBus()
        let journal = Journal()
        bus.on(Note.self) { _ in journal.add("handler") }
        bus.bind { event, identifier in journal.add("observer \(type(of: event)) \(identifier ?? "-")") }
        let envelope = try await bus.emit(Note(text: "x"), identifier: "id")
        XCTAssertEqual(journal.all, ["observer Note id", "handler"])
        XCTAssertFalse(envelope.isStopped)
    }

    func testEmitInternal_skipsObservers() async throws {
        let bus = EventBus()
        let journal = Journal()
        bus.bind { _, _ in journal.add("observer") }
        bus.on(Note.self) { _ in journal.add("handler") }
        try await bus.emitInternal(Note(text: ""))
        XCTAssertEqual(journal.all, ["handler"])
    }

    func testCancel_removesTheHandler() async throws {
        let bus = EventBus()
        let journal = Journal()
        let subscription = bus.on(Note.self) { _ in journal.add("handler") }
        subscription.cancel()
        try await bus.emit(Note(text: ""))
        XCTAssertEqual(journal.all, [])
        XCTAssertTrue(subscription.isCancelled)
    }

    func testCancelDuringDispatch_skipsTheCancelledHandlerLaterInTheSameCascade() async throws {
        let bus = EventBus()
        let journal = Journal()
        let later = SubscriptionBox()
        bus.on(Note.self, priority: .high) { _ in
            journal.add("first")
            later.subscription?.cancel()
        }
        later.subscription = bus.on(Note.self, priority: .low) { _ in journal.add("second") }
        try await bus.emit(Note(text: ""))
        XCTAssertEqual(journal.all, ["first"])
    }

    func testCancellingItselfDuringDispatch_isSafeAndFinal() async throws {
        let bus = EventBus()
        let counter = Counter()
        let box = SubscriptionBox()
        box.subscription = bus.on(Note.self) { _ in
            counter.next()
            box.subscription?.cancel()
        }
        try await bus.emit(Note(text: ""))
        try await bus.emit(Note(text: ""))
        XCTAssertEqual(counter.current, 1)
    }

    func testCancelTwice_isHarmless() {
        let bus = EventBus()
        let subscription = bus.on(Note.self) { _ in }
        subscription.cancel()
        subscription.cancel()
        XCTAssertTrue(subscription.isCancelled)
    }

    // plugin_kit: event_bus_test "Post-dispose guards".
    func testDispose_thenEmitAndRequest_throwBusDisposedAndReachNobody() async throws {
        let bus = EventBus(label: "doc")
        let journal = Journal()
        bus.on(Note.self) { _ in journal.add("handler") }
        bus.onRequest(Ask.self) { _ in "answer" }
        bus.dispose()
        XCTAssertTrue(bus.isDisposed)
        await XCTAssertThrowsErrorAsync(try await bus.emit(Note(text: ""))) { XCTAssertEqual($0 as? BusDisposed, BusDisposed(bus: "doc")) }
        await XCTAssertThrowsErrorAsync(try await bus.request(Ask(question: "q"))) { XCTAssertEqual($0 as? BusDisposed, BusDisposed(bus: "doc")) }
        await XCTAssertThrowsErrorAsync(try await bus.maybeRequest(Ask(question: "q"))) { XCTAssertEqual($0 as? BusDisposed, BusDisposed(bus: "doc")) }
        XCTAssertEqual(journal.all, [])
    }
}

final class SubscriptionBox: Sendable {
    private let stored = Mutex<Subscription?>(nil)
    var subscription: Subscription? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}

import Synchronization
