import PluginKit
import XCTest

final class RequestTests: XCTestCase {
    func testFirstNonNilAnswer_wins_inPriorityOrder() async throws {
        let bus = EventBus()
        bus.onRequest(Ask.self, priority: .high) { _ in nil }
        bus.onRequest(Ask.self) { _ in "normal" }
        bus.onRequest(Ask.self, priority: .low) { _ in "low" }
        let answer = try await bus.request(Ask(question: "q"))
        XCTAssertEqual(answer, "normal")
    }

    func testNoHandler_throwsRequestNotWiredNamingTheRequest() async {
        let bus = EventBus()
        do {
            _ = try await bus.request(Ask(question: "q"))
            XCTFail("expected RequestNotWired")
        } catch let error as RequestNotWired {
            XCTAssertEqual(error.request, "Ask")
        } catch {
            XCTFail("\(error)")
        }
    }

    func testAllHandlersConceding_throwsAllConceded() async {
        let bus = EventBus()
        bus.onRequest(Ask.self) { _ in nil }
        bus.onRequest(Ask.self, priority: .low) { _ in nil }
        do {
            _ = try await bus.request(Ask(question: "q"))
            XCTFail("expected AllConceded")
        } catch is AllConceded {
        } catch {
            XCTFail("\(error)")
        }
    }

    func testHandlerForAnotherIdentifier_isNotWired() async {
        let bus = EventBus()
        bus.onRequest(Ask.self, identifier: "other") { _ in "x" }
        do {
            _ = try await bus.request(Ask(question: "q"), identifier: "mine")
            XCTFail("expected RequestNotWired")
        } catch let error as RequestNotWired {
            XCTAssertEqual(error.identifier, "mine")
        } catch {
            XCTFail("\(error)")
        }
    }

    func testMaybeRequest_returnsNilForBothNoAnswerCases() async throws {
        let bus = EventBus()
        let unwired = try await bus.maybeRequest(Ask(question: "q"), as: String.self)
        XCTAssertNil(unwired)
        bus.onRequest(Ask.self) { _ in nil }
        let conceded = try await bus.maybeRequest(Ask(question: "q"), as: String.self)
        XCTAssertNil(conceded)
    }

    func testMaybeRequest_stillRethrowsHandlerErrors() async {
        let bus = EventBus()
        bus.onRequest(Ask.self) { _ in throw TestFailure(description: "handler broke") }
        do {
            _ = try await bus.maybeRequest(Ask(question: "q"), as: String.self)
            XCTFail("expected the handler's error")
        } catch {
            XCTAssertEqual("\(error)", "handler broke")
        }
    }

    func testRequestPairs_areKeyedByRequestAndResponseType() async throws {
        struct Question: Sendable {}
        let bus = EventBus()
        bus.onRequest(Question.self, Int.self) { _ in 42 }
        bus.onRequest(Question.self, String.self) { _ in "forty-two" }
        let number = try await bus.request(Question(), as: Int.self)
        let text = try await bus.request(Question(), as: String.self)
        XCTAssertEqual(number, 42)
        XCTAssertEqual(text, "forty-two")
    }
}
