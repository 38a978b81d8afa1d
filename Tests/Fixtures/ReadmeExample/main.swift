import Logging
import PluginKit
import PluginSupervisor

struct Greeting: WireEvent { var text: String }          // Codable: it crosses the process boundary

/// Global: trusted host code, runs in this process (the supervisor).
struct LogPlugin: GlobalPlugin {
    let id: PluginID = "log"
    func attach(_ context: GlobalPluginContext) async throws {
        context.on(Greeting.self, for: id) { envelope in
            envelope.payload.text += " (logged)"          // later handlers, and the emitter, see it
        }
    }
}

/// Session: untrusted, runs in its session's confined worker process.
struct HelloPlugin: SessionPlugin {
    let id: PluginID = "hello"
    func attach(_ context: SessionPluginContext) async throws {
        let reply = try await context.globalBus.emit(Greeting(text: "hello from \(context.sessionID)"))
        context.logger.info("\(reply.payload.text)")     // reaches the host's logger
    }
}

// First statement of main: in a worker it confines the process and runs the session, never returning.
var sandbox = Sandbox.bootstrap(sessionPlugins: SessionPluginCatalog([{ HelloPlugin() }]))
LoggingSystem.bootstrap(StreamLogHandler.standardOutput)
sandbox.configuration.logger = Logger(label: "host")     // the supervisor's log, its plugins' lines included
sandbox.configuration.sparesPerProfile = 0               // one session, then exit: no warm worker for a next

try await sandbox.withRuntime(globalPlugins: [LogPlugin()]) { runtime in
    let session = try await runtime.createSession(id: "doc-1")
    print("\(session.id): \(await session.attachedPlugins.sorted())")
    try await session.dispose()
}
