import PluginKit
import XCTest

/// Issue 13, items 17 and 20: the merged order of general and scoped handlers, and
/// registration that stays cheap whatever the order of priorities.
final class BusOrderTests: XCTestCase {
    // plugin_kit: event_bus_test "general and identifier handlers are merged by priority".
    func testGeneralAndScopedHandlers_mergeByPriority() async throws {
        let bus = EventBus()
        let order = Journal()
        bus.on(Note.self, priority: 10) { _ in order.add("general-p10") }
        bus.on(Note.self, priority: 5, identifier: "agent1") { _ in order.add("scoped-p5") }
        bus.on(Note.self, priority: 0) { _ in order.add("general-p0") }
        try await bus.emit(Note(text: ""), identifier: "agent1")
        XCTAssertEqual(order.all, ["general-p10", "scoped-p5", "general-p0"])
    }

    // plugin_kit: event_bus_test "merged handler ordering: interleaves general and scoped handlers by priority".
    func testMergedOrder_interleavesBothBuckets() async throws {
        let bus = EventBus()
        let order = Journal()
        bus.on(Note.self, priority: 0) { _ in order.add("g-0") }
        bus.on(Note.self, priority: 5, identifier: "a") { _ in order.add("s-5") }
        bus.on(Note.self, priority: 10) { _ in order.add("g-10") }
        bus.on(Note.self, priority: 15, identifier: "a") { _ in order.add("s-15") }
        bus.on(Note.self, priority: 20) { _ in order.add("g-20") }
        try await bus.emit(Note(text: ""), identifier: "a")
        XCTAssertEqual(order.all, ["g-20", "s-15", "g-10", "s-5", "g-0"])
    }

    // plugin_kit: event_bus.dart `_mergePrioritized` (`>=`): at equal priority the general handler runs first,
    // even when the scoped one registered earlier.
    func testEqualPriority_generalRunsBeforeScoped() async throws {
        let bus = EventBus()
        let order = Journal()
        bus.on(Note.self, identifier: "a") { _ in order.add("scoped") }
        bus.on(Note.self) { _ in order.add("general") }
        try await bus.emit(Note(text: ""), identifier: "a")
        XCTAssertEqual(order.all, ["general", "scoped"])
    }

    // plugin_kit: event_bus.dart `request` walks the same merged order.
    func testEqualPriority_generalResponderAnswersBeforeScoped() async throws {
        let bus = EventBus()
        bus.onRequest(Ask.self, identifier: "a") { _ in "scoped" }
        bus.onRequest(Ask.self) { _ in "general" }
        let answer = try await bus.request(Ask(question: ""), identifier: "a")
        XCTAssertEqual(answer, "general")
    }

    func testMergedOrder_followsLaterSubscriptionsAndCancellations() async throws {
        let bus = EventBus()
        let order = Journal()
        bus.on(Note.self, priority: 10) { _ in order.add("g-10") }
        let scoped = bus.on(Note.self, priority: 20, identifier: "a") { _ in order.add("s-20") }
        try await bus.emit(Note(text: ""), identifier: "a")
        bus.on(Note.self, priority: 30) { _ in order.add("g-30") }
        scoped.cancel()
        try await bus.emit(Note(text: ""), identifier: "a")
        XCTAssertEqual(order.all, ["s-20", "g-10", "g-30", "g-10"])
    }

    // plugin_kit: insert_prioritized_perf_test "inserting many handlers with ascending priorities ..." (the order
    // it produces; the time is measured by hand in release, never asserted).
    func testHundredThousandHandlersInAscendingPriority_runInDescendingOrder() async throws {
        let bus = EventBus()
        let count = 100_000
        let seen = Journal()
        for priority in 0..<count {
            bus.on(Note.self, priority: Priority(priority)) { _ in
                if priority % 10_000 == 0 { seen.add("\(priority)") }
            }
        }
        let envelope = try await bus.emit(Note(text: ""))
        XCTAssertEqual(envelope.handlerCount, count)
        XCTAssertEqual(seen.all, stride(from: 90_000, through: 0, by: -10_000).map { "\($0)" })
    }

    func testManyHandlersInDescendingPriority_keepTheirOrder() async throws {
        let bus = EventBus()
        let seen = Journal()
        for priority in stride(from: 1_000, to: 0, by: -1) {
            bus.on(Note.self, priority: Priority(priority)) { _ in if priority % 250 == 0 { seen.add("\(priority)") } }
        }
        try await bus.emit(Note(text: ""))
        XCTAssertEqual(seen.all, ["1000", "750", "500", "250"])
    }

    // plugin_kit: insert_prioritized_perf_test "priority-sorted dispatch order is preserved after binary-search insertion".
    func testOutOfOrderRegistration_dispatchesInDescendingPriority() async throws {
        let bus = EventBus()
        let order = Journal()
        for priority in [50, 10, 100, 75, 25] {
            bus.on(Note.self, priority: Priority(priority)) { _ in order.add("\(priority)") }
        }
        try await bus.emit(Note(text: ""))
        XCTAssertEqual(order.all, ["100", "75", "50", "25", "10"])
    }

    // plugin_kit: insert_prioritized_perf_test "equal-priority handlers preserve registration order (stable sort)".
    func testEqualPriorities_keepRegistrationOrder() async throws {
        let bus = EventBus()
        let order = Journal()
        for name in ["a", "b", "c"] {
            bus.on(Note.self, priority: 50) { _ in order.add(name) }
        }
        bus.on(Note.self, priority: 60) { _ in order.add("first") }
        bus.on(Note.self, priority: 50) { _ in order.add("d") }
        try await bus.emit(Note(text: ""))
        XCTAssertEqual(order.all, ["first", "a", "b", "c", "d"])
    }

    func testCancellingAnEqualPriorityHandler_removesOnlyThatOne() async throws {
        let bus = EventBus()
        let order = Journal()
        bus.on(Note.self) { _ in order.add("a") }
        let middle = bus.on(Note.self) { _ in order.add("b") }
        bus.on(Note.self) { _ in order.add("c") }
        middle.cancel()
        try await bus.emit(Note(text: ""))
        XCTAssertEqual(order.all, ["a", "c"])
    }

    // plugin_kit: event_bus_test "Post-dispose guards": subscribing on a disposed bus. PluginKit returns an
    // inert, already-cancelled subscription (see Semantics.md).
    func testSubscribingOnADisposedBus_returnsACancelledSubscription() {
        let bus = EventBus()
        bus.dispose()
        XCTAssertTrue(bus.on(Note.self) { _ in }.isCancelled)
        XCTAssertTrue(bus.onRequest(Ask.self) { _ in "x" }.isCancelled)
        XCTAssertTrue(bus.bind { _, _ in }.isCancelled)
    }
}
