import PluginKit
import Synchronization
import XCTest

// README.md's "A plugin in a screen" plugins in process, under PluginKit's default host; the
// session plugin records its reply instead of logging it. The README's own code runs sandboxed
// in `Tests/PluginSupervisorTests/Documentation/ReadmeTests.swift`.
struct Greeting: WireEvent { var text: String }

struct LogPlugin: GlobalPlugin {
    let id: PluginID = "log"
    func attach(_ context: GlobalPluginContext) async throws {
        context.on(Greeting.self, for: id) { envelope in
            envelope.payload.text += " (logged)"
        }
    }
}

struct HelloPlugin: SessionPlugin {
    let id: PluginID = "hello"
    let replies: Journal
    func attach(_ context: SessionPluginContext) async throws {
        let reply = try await context.globalBus.emit(Greeting(text: "hello from \(context.sessionID)"))
        replies.add(reply.payload.text)
    }
}

final class ReadmeExampleTests: XCTestCase {
    func testReadmePlugins_sessionGreetingCrossesToTheGlobalLoggerAndComesBackMutated() async throws {
        let replies = Journal()
        let runtime = try await PluginRuntime(
            globalPlugins: [LogPlugin()],
            sessionPlugins: SessionPluginCatalog([{ HelloPlugin(replies: replies) }]))
        _ = try await runtime.createSession(id: "doc-1")
        XCTAssertEqual(replies.all, ["hello from doc-1 (logged)"])
    }
}
