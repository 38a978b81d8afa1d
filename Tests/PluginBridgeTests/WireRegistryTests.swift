import Foundation
import PluginBridge
import PluginWire
@_spi(SessionHost) import PluginKit
import Synchronization
import XCTest

struct Ping: WireEvent, Equatable { var value: Int }
struct Ask: WireRequest, Equatable { typealias Response = String; var question: String }
struct Renamed: WireEvent, Equatable {
    static let wireName = "custom.renamed"
    var text: String
}

/// Validated raw JSON from a literal.
func raw(_ text: String) -> RawJSON {
    (try? RawJSON(validating: Array(text.utf8))) ?? .null
}

final class Journal: Sendable {
    let entries = Mutex<[String]>([])
    func add(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

/// The bridge's by-name entry points, which carry JSON payloads across the process boundary.
final class WireRegistryTests: XCTestCase {
    func testWireName_defaultsToTheTypeName() {
        XCTAssertEqual(Ping.wireName, "Ping")
        XCTAssertEqual(Ask.wireName, "Ask")
    }

    func testRegistry_learnsTypesSubscribedBeforeAndAfterIt() {
        let bus = EventBus()
        bus.on(Ping.self) { _ in }
        let registry = WireRegistry(bus: bus)
        bus.onRequest(Ask.self) { _ in "a" }
        bus.on(Renamed.self) { _ in }
        bus.on(String.self) { _ in }
        XCTAssertEqual(registry.eventNames, ["Ping", "custom.renamed"])
        XCTAssertEqual(registry.requestNames, ["Ask"])
    }

    func testEmit_decodesRunsTheCascadeAndReencodes() async throws {
        let bus = EventBus()
        bus.on(Ping.self) { $0.payload.value += 1 }
        bus.on(Ping.self, priority: .low) { $0.stop() }
        let result = try await WireRegistry(bus: bus).emit(name: "Ping", payload: raw(#"{"value":41}"#), identifier: nil, origin: .global)
        XCTAssertEqual(try result.payload.decode(Ping.self), Ping(value: 42))
        XCTAssertTrue(result.stopped)
        XCTAssertEqual(result.handlerCount, 2)
        XCTAssertTrue(result.isPayloadReplaced)
    }

    func testEmit_unchangedPayload_comesBackAsTheSameBytes() async throws {
        let bus = EventBus()
        bus.on(Ping.self) { _ in }
        let payload = raw(#"{ "value" : 7 }"#)
        let result = try await WireRegistry(bus: bus).emit(name: "Ping", payload: payload, identifier: nil, origin: .global)
        XCTAssertEqual(result.payload, payload)
        XCTAssertFalse(result.isPayloadReplaced)
        XCTAssertEqual(result.handlerCount, 1)
    }

    func testEmit_carriesTheOriginToHandlers() async throws {
        let bus = EventBus()
        let seen = Journal()
        bus.on(Ping.self) { seen.add("\($0.origin)") }
        _ = try await WireRegistry(bus: bus).emit(name: "Ping", payload: raw(#"{"value":1}"#), identifier: nil, origin: .session("doc-1"))
        XCTAssertEqual(seen.all, ["session doc-1"])
    }

    func testEmit_unknownName_reachesObserversOnlyAndComesBackUnchanged() async throws {
        let bus = EventBus()
        let journal = Journal()
        bus.bind { event, _ in
            if let unknown = event as? UnknownWireEvent { journal.add("observer saw \(unknown.name)") }
        }
        let payload = raw(#"{"anything":true}"#)
        let result = try await WireRegistry(bus: bus).emit(name: "Mystery", payload: payload, identifier: nil, origin: .global)
        XCTAssertEqual(result.payload, payload)
        XCTAssertFalse(result.stopped)
        XCTAssertEqual(result.handlerCount, 0)
        XCTAssertEqual(journal.all, ["observer saw Mystery"])
    }

    func testEmit_undecodablePayload_namesTheEvent() async {
        let bus = EventBus()
        bus.on(Ping.self) { _ in }
        do {
            _ = try await WireRegistry(bus: bus).emit(name: "Ping", payload: raw(#"{"value":"not a number"}"#), identifier: nil, origin: .global)
            XCTFail("expected a payload error")
        } catch let error as WirePayloadError {
            XCTAssertEqual(error.name, "Ping")
        } catch {
            XCTFail("\(error)")
        }
    }

    func testRequest_answersAsJSONAndHandlersSeeTheOrigin() async throws {
        let bus = EventBus()
        bus.onRequest(Ask.self) { ask, context in "\(context.origin) asks \(ask.question)" }
        let data = try await WireRegistry(bus: bus).request(name: "Ask", payload: raw(#"{"question":"q"}"#), identifier: nil, origin: .session("s"))
        XCTAssertEqual(try data.decode(String.self), "session s asks q")
    }

    func testRequest_unknownName_isNotWired() async {
        let bus = EventBus()
        do {
            _ = try await WireRegistry(bus: bus).request(name: "Nobody", payload: raw("{}"), identifier: nil, origin: .global)
            XCTFail("expected RequestNotWired")
        } catch let error as RequestNotWired {
            XCTAssertEqual(error.request, "Nobody")
        } catch {
            XCTFail("\(error)")
        }
    }

    func testEmit_respectsIdentifiers() async throws {
        let bus = EventBus()
        bus.on(Ping.self, identifier: "a") { $0.payload.value = 100 }
        let registry = WireRegistry(bus: bus)
        let other = try await registry.emit(name: "Ping", payload: raw(#"{"value":1}"#), identifier: "b", origin: .global)
        XCTAssertEqual(try other.payload.decode(Ping.self), Ping(value: 1))
        let mine = try await registry.emit(name: "Ping", payload: raw(#"{"value":1}"#), identifier: "a", origin: .global)
        XCTAssertEqual(try mine.payload.decode(Ping.self), Ping(value: 100))
    }

    func testEmit_onADisposedBus_throwsBusDisposed() async {
        let bus = EventBus(label: "gone")
        bus.on(Ping.self) { _ in }
        let registry = WireRegistry(bus: bus)
        bus.dispose()
        do {
            _ = try await registry.emit(name: "Ping", payload: raw(#"{"value":1}"#), identifier: nil, origin: .global)
            XCTFail("expected BusDisposed")
        } catch {
            XCTAssertEqual(error as? BusDisposed, BusDisposed(bus: "gone"))
        }
    }
}
