import PluginKit
import PluginLibrary
import Synchronization

/// Emitted into a session to greet someone; the greeter fills in the greeting.
public struct Greet: WireEvent, Equatable {
    public var name: String
    public var greeting: String?
    public init(name: String, greeting: String? = nil) {
        self.name = name
        self.greeting = greeting
    }
}

/// Sent to the global bus (the host's global plugins) after each greeting.
public struct Greeted: WireEvent, Equatable {
    public var name: String
    public init(name: String) { self.name = name }
}

/// Asks a session how many greetings its greeter has made.
public struct GreetingCount: WireRequest, Equatable {
    public typealias Response = Int
    public init() {}
}

/// The library's one session plugin: greets, tells the host's global scope, and counts its greetings.
struct GreeterPlugin: SessionPlugin {
    let id: PluginID = "greeter"

    func attach(_ context: SessionPluginContext) async throws {
        let count = Mutex(0)
        context.on(Greet.self, for: id) { envelope in
            let number = count.withLock { value -> Int in
                value += 1
                return value
            }
            envelope.payload.greeting = "Hello, \(envelope.payload.name)! (greeting \(number) from a plugin library)"
            try await context.globalBus.emit(Greeted(name: envelope.payload.name))
        }
        context.onRequest(GreetingCount.self, for: id) { _ in count.withLock { $0 } }
        context.logger.info("greeter attached", metadata: ["session": "\(context.sessionID)"])
    }
}

/// The library's entry point: the one symbol a worker looks for.
@_cdecl("pluginsandbox_library_v1")
public func pluginsandboxLibrary() -> UnsafeRawPointer {
    PluginLibraryExport.declare(name: "greeter", sessionPlugins: SessionPluginCatalog([{ GreeterPlugin() }]))
}
