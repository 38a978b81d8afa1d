#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SystemPackage
import Logging
import PluginBridge
import PluginKit
import PluginWire

extension WorkerRuntime {
    /// Warms, in the zygote before it forks any worker, what every worker does first: encoding and
    /// decoding each message kind and the settings. Protocol-conformance lookups and metadata are
    /// then cached in memory every worker inherits copy-on-write, instead of paid per worker.
    ///
    /// Runs no plugin code (nothing may run unconfined) and starts no thread (the zygote must be
    /// forked from a single-threaded process): the concurrency runtime and an empty session scope
    /// are warmed on a throwaway executor drained on this thread.
    public static func preload() {
        warmConcurrency()
        // The runtime's type-name demangler and dynamic-cast machinery start up on first use
        // (most of a millisecond): every worker names and casts its plugins' event types.
        _ = PreloadEvent.wireName
        _ = (PreloadEvent.self as Any.Type) as? any WireRequest.Type
        let settings = (try? RawJSON(encoding: RuntimeSettings(plugins: ["p": PluginConfig(enabled: true)]))) ?? .emptyObject
        _ = try? settings.decode(RuntimeSettings.self)
        let payload = (try? RawJSON(.object(["k": .array([.bool(true), .double(1.5), .string("v")])]))) ?? .null
        let messages: [WireMessage] = [
            .hello(Hello(pid: 1, plugins: ["p"], build: "b")),
            .welcome(Welcome(sessionID: "s", settings: settings, globalPlugins: [], maximumFrameLength: 1 << 20,
                             heartbeatIntervalMilliseconds: 500, maximumInFlight: 8)),
            .ready(Ready(enabledPlugins: ["p"], attachedPlugins: ["p"])),
            .emit(Emit(id: 1, scope: .session, event: "E", payload: payload)),
            .emitResult(EmitResult(id: 1, handled: 1, stopped: false, payload: payload)),
            .request(Request(id: 2, scope: .global, name: "R", payload: payload)),
            .response(Response(id: 2, payload: .null, error: WireFailure(code: .notWired, message: "m"))),
            .settings(SettingsUpdate(id: 3, settings: settings, globalPlugins: [])),
            .settingsResult(SettingsResult(id: 3, attached: ["p"], detached: [], changed: [])),
            .ping(Ping(id: 4)), .pong(Pong(id: 4, busy: BusyHandler(event: "E", sinceMilliseconds: 1))),
            .log(LogRecord(level: "info", message: "m", metadata: ["k": "v"])),
            .cancel(Cancel(id: 5)), .dispose(Dispose(reason: "r")), .bye(Bye(reason: "r")),
            .error(WireFailure(code: .internal, message: "m")),
        ]
        for message in messages {
            let frame = MessageCodec.encodeFrame(message)
            var decoder = FrameDecoder()
            decoder.append(frame)
            if let body = try? decoder.nextFrame() { _ = try? MessageCodec.decode(body: body) }
        }
    }
}

extension WorkerRuntime {
    /// Runs a task, an actor hop, a task group and an empty session scope's start and dispose on a
    /// private executor drained on the calling thread: the concurrency runtime's first-use work
    /// (metadata, allocators) happens once here instead of in every worker.
    static func warmConcurrency() {
        guard let executor = try? WorkerExecutor() else { return }
        executor.start {
            actor Counter { var value = 0; func add() { value += 1 } }
            let counter = Counter()
            await counter.add()
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<2 { group.addTask { await counter.add() } }
            }
            // A subscription of each kind, an emit and a request: the bus's tables, key paths
            // and cascades are built on first use (perf: a fifth of a new worker's welcome → ready
            // was spent on them).
            let bus = EventBus(label: "preload", scope: .session("preload"))
            bus.on(PreloadEvent.self) { _ in }
            bus.onRequest(PreloadRequest.self) { request in request.value }
            _ = try? await bus.emit(PreloadEvent())
            _ = try? await bus.request(PreloadRequest(value: 1))
            bus.dispose()
            await warmServe()
            if let scope = try? await SessionScope(
                id: "preload", catalog: SessionPluginCatalog([]), settings: RuntimeSettings(),
                globalBus: NoGlobalBus(), globalPlugins: []) {
                _ = try? await scope.emit(PreloadEvent())
                try? await scope.dispose()
            }
        }
        executor.runUntilIdle()
    }
}

extension WorkerRuntime {
    /// Builds what every worker's `serve` builds (its connection, scope server, endpoint and
    /// message stream) on a socket pair nobody reads, and runs a welcome, a request and a dispose
    /// through them with no plugins: the type metadata and tables these need are made on
    /// first use (perf: a tenth of a new worker's CPU before this). No plugin code runs and no
    /// thread starts: the zygote forks afterwards.
    static func warmServe() async {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else { return }
        defer { close(pair[0]); close(pair[1]) }
        // Nobody reads the other end: a write that would block fails instead.
        _ = fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK)
        let connection = WorkerConnection(socket: FileDescriptor(rawValue: pair[0]))
        let logger = Logger(label: "plugin") { _ in WireLogHandler(connection: connection) }
        let server = ScopeServer(catalog: SessionPluginCatalog([]), globalBus: WireGlobalBus(connection: connection), logger: logger,
                                 contextFactory: { _ in ContextValues() })
        let endpoint = SessionEndpoint(responder: server, channel: connection, inFlight: connection.inFlight, hooks: SessionEndpoint.Hooks())
        let (messages, input) = AsyncStream<WireMessage>.makeStream(bufferingPolicy: .unbounded)
        let settings = (try? RawJSON(encoding: RuntimeSettings())) ?? .emptyObject
        input.yield(.welcome(Welcome(sessionID: "preload", settings: settings, globalPlugins: [], maximumFrameLength: 1 << 20,
                                     heartbeatIntervalMilliseconds: 500, maximumInFlight: 8)))
        input.yield(.request(Request(id: 1, scope: .session, name: "Preload", payload: .emptyObject)))
        input.yield(.dispose(Dispose(reason: "preload")))
        input.finish()
        await endpoint.serve(messages)
    }
}

/// An event nobody handles, emitted once while warming.
struct PreloadEvent: WireEvent {}

/// A request answered once while warming.
struct PreloadRequest: WireRequest {
    typealias Response = Int
    var value: Int
}

/// The global bus of the warming scope: nothing crosses.
private struct NoGlobalBus: GlobalBusAccess {
    struct Unavailable: Error {}
    func emit<E: WireEvent>(_ event: E, identifier: String?) async throws -> EventEnvelope<E> { throw Unavailable() }
    func request<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response { throw Unavailable() }
    func maybeRequest<R: WireRequest>(_ request: R, identifier: String?) async throws -> R.Response? { nil }
}
