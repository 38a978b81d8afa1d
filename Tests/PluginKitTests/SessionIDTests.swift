import PluginKit
import Synchronization
import XCTest

/// Issue 14: session ids are checked, and per-session options are typed.
final class SessionIDTests: XCTestCase {
    func testValidIds_areAccepted() throws {
        for text in ["a", "doc-1", "Doc_2.md", "tenant:42", "9lives", String(repeating: "x", count: 128)] {
            XCTAssertEqual(try SessionID(validating: text).rawValue, text)
        }
    }

    func testInvalidIds_nameTheIdAndTheProblem() {
        let cases: [(String, SessionIDError.Problem)] = [
            ("", .empty),
            (String(repeating: "x", count: 129), .tooLong(length: 129)),
            ("-leading", .invalidFirstCharacter("-")),
            (".hidden", .invalidFirstCharacter(".")),
            ("a/b", .invalidCharacter("/", offset: 1)),
            ("two words", .invalidCharacter(" ", offset: 3)),
            ("café", .invalidCharacter("é", offset: 3)),
            ("line\nbreak", .invalidCharacter("\n", offset: 4)),
        ]
        for (text, problem) in cases {
            XCTAssertThrowsError(try SessionID(validating: text), text) { error in
                XCTAssertEqual(error as? SessionIDError, SessionIDError(id: text, problem: problem))
            }
        }
        let description = SessionIDError(id: "a/b", problem: .invalidCharacter("/", offset: 1)).description
        XCTAssertTrue(description.contains("'a/b'") && description.contains("offset 1"), description)
        let escaped = SessionIDError(id: "line\nbreak", problem: .invalidCharacter("\n", offset: 4)).description
        XCTAssertFalse(escaped.contains("\n"), "a control character is escaped, never written raw")
    }

    func testGeneratedIds_areValidAndDistinct() throws {
        let ids = (0..<100).map { _ in SessionID.make() }
        for id in ids { try id.validate() }
        XCTAssertEqual(Set(ids).count, ids.count)
    }

    func testCreateSession_withAnInvalidId_throwsBeforeAnythingIsBuilt() async throws {
        let journal = Journal()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{ SessionProbe(id: "p", journal: journal) }]))
        await XCTAssertThrowsErrorAsync(try await runtime.createSession(id: "../escape")) { error in
            XCTAssertEqual((error as? SessionIDError)?.problem, .invalidFirstCharacter("."))
        }
        XCTAssertEqual(journal.all, [])
        XCTAssertTrue(runtime.sessions.isEmpty)
    }

    struct Recorded: SessionOptions, Equatable { var label: String }

    /// A host that records what it was launched with, then opens sessions in process.
    final class RecordingHost: SessionHost {
        let launches = Mutex<[SessionLaunch]>([])
        func openSession(_ launch: SessionLaunch, global: EventBus, runtime: PluginRuntime) async throws -> any SessionHandle {
            launches.withLock { $0.append(launch) }
            return try await InProcessSessionHost().openSession(launch, global: global, runtime: runtime)
        }
    }

    func testCreateSession_handsTheTypedOptionsAndGlobalPluginsToTheHost() async throws {
        let host = RecordingHost()
        let runtime = try await PluginRuntime(globalPlugins: [GlobalProbe(id: "g")], host: host)
        _ = try await runtime.createSession(id: "with", options: Recorded(label: "x"))
        _ = try await runtime.createSession(id: "without")
        let launches = host.launches.withLock { $0 }
        XCTAssertEqual(launches.map(\.id), ["with", "without"])
        XCTAssertEqual(launches.first?.options as? Recorded, Recorded(label: "x"))
        XCTAssertNil(launches.last?.options)
        XCTAssertEqual(launches.first?.globalPlugins, ["g"])
    }
}
