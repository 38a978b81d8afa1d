import Foundation
import PluginKit
import XCTest

/// The bus's by-name entry points, which a process bridge uses with JSON payloads.
final class WireNameTests: XCTestCase {
    func testWireName_defaultsToTheTypeName() {
        XCTAssertEqual(Ping.wireName, "Ping")
        XCTAssertEqual(Ask.wireName, "Ask")
    }

    func testEmitEncoded_decodesRunsTheCascadeAndReencodes() async throws {
        let bus = EventBus()
        bus.on(Ping.self) { $0.payload.value += 1 }
        bus.on(Ping.self, priority: .low) { $0.stop() }
        let result = try await bus.emitEncoded(name: "Ping", payload: Data(#"{"value":41}"#.utf8), identifier: nil)
        XCTAssertEqual(try JSONDecoder().decode(Ping.self, from: result.payload), Ping(value: 42))
        XCTAssertTrue(result.stopped)
    }

    func testEmitEncoded_unknownName_reachesObserversOnlyAndComesBackUnchanged() async throws {
        let bus = EventBus()
        let journal = Journal()
        bus.bind { event, _ in
            if let unknown = event as? UnknownWireEvent { journal.add("observer saw \(unknown.name)") }
        }
        let payload = Data(#"{"anything":true}"#.utf8)
        let result = try await bus.emitEncoded(name: "Mystery", payload: payload, identifier: nil)
        XCTAssertEqual(result.payload, payload)
        XCTAssertFalse(result.stopped)
        XCTAssertEqual(journal.all, ["observer saw Mystery"])
    }

    func testEmitEncoded_undecodablePayload_namesTheEvent() async {
        let bus = EventBus()
        bus.on(Ping.self) { _ in }
        do {
            _ = try await bus.emitEncoded(name: "Ping", payload: Data(#"{"value":"not a number"}"#.utf8), identifier: nil)
            XCTFail("expected a payload error")
        } catch let error as WirePayloadError {
            XCTAssertEqual(error.name, "Ping")
        } catch {
            XCTFail("\(error)")
        }
    }

    func testRequestEncoded_answersAsJSON() async throws {
        let bus = EventBus()
        bus.onRequest(Ask.self) { "answer to \($0.question)" }
        let data = try await bus.requestEncoded(name: "Ask", payload: Data(#"{"question":"q"}"#.utf8), identifier: nil)
        XCTAssertEqual(try JSONDecoder().decode(String.self, from: data), "answer to q")
    }

    func testRequestEncoded_unknownName_isNotWired() async {
        let bus = EventBus()
        do {
            _ = try await bus.requestEncoded(name: "Nobody", payload: Data("{}".utf8), identifier: nil)
            XCTFail("expected RequestNotWired")
        } catch let error as RequestNotWired {
            XCTAssertEqual(error.request, "Nobody")
        } catch {
            XCTFail("\(error)")
        }
    }

    func testEmitEncoded_respectsIdentifiers() async throws {
        let bus = EventBus()
        bus.on(Ping.self, identifier: "a") { $0.payload.value = 100 }
        let other = try await bus.emitEncoded(name: "Ping", payload: Data(#"{"value":1}"#.utf8), identifier: "b")
        XCTAssertEqual(try JSONDecoder().decode(Ping.self, from: other.payload), Ping(value: 1))
        let mine = try await bus.emitEncoded(name: "Ping", payload: Data(#"{"value":1}"#.utf8), identifier: "a")
        XCTAssertEqual(try JSONDecoder().decode(Ping.self, from: mine.payload), Ping(value: 100))
    }
}
