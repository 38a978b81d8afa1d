import PluginWire

/// One representative message of every kind, with optional fields both set and unset.
enum WireMessageSamples {
    static let failure = WireFailure(code: .handlerFailed, message: "handler threw", details: ["plugin": "spell"])

    static let all: [WireMessage] = [
        .hello(Hello(sessionID: "s-1", pid: 4242, plugins: ["spell", "lint"], sandboxLayers: ["seccomp", "landlock"])),
        .welcome(Welcome(sessionID: "s-1", settings: .object(["plugins": .object(["spell": .object(["enabled": .bool(true)])])]),
                         maximumFrameLength: 65_536, heartbeatIntervalMilliseconds: 500, maximumInFlight: 64)),
        .ready(Ready(enabledPlugins: ["spell", "lint"], attachedPlugins: ["spell"])),
        .emit(Emit(id: 1, scope: .global, event: "DocumentSaved", identifier: "doc-9",
                   payload: .object(["path": .string("/a.txt"), "size": .int(Int64.max)]))),
        .emit(Emit(id: UInt64.max, scope: .session, event: "Tick", payload: .null)),
        .emitResult(EmitResult(id: 1, payload: .object(["size": .int(-3)]), stopped: true)),
        .emitResult(EmitResult(id: 2, payload: nil, stopped: false, error: failure)),
        .emitResult(EmitResult(id: 3, payload: .null, stopped: false)),
        .request(Request(id: 5, scope: .global, name: "Lookup", identifier: "x", payload: .array([.int(1), .double(2.5)]),
                         optional: true, timeoutMilliseconds: 250)),
        .request(Request(id: 6, scope: .session, name: "Lookup", payload: .string("q"))),
        .response(Response(id: 5, payload: .string("answer"))),
        .response(Response(id: 6, payload: nil)),
        .response(Response(id: 7, payload: .null)),
        .response(Response(id: 8, payload: nil, error: WireFailure(code: .allConceded, message: "no handler answered"))),
        .cancel(Cancel(id: 5)),
        .settings(SettingsUpdate(id: 9, settings: .object(["services": .object([:])]))),
        .settingsResult(SettingsResult(id: 9, attached: ["lint"], detached: [], changed: ["spell"])),
        .settingsResult(SettingsResult(id: 10, attached: [], detached: [], changed: [],
                                       error: WireFailure(code: .settingsRejected, message: "bad key"))),
        .ping(Ping(id: 11)),
        .pong(Pong(id: 11)),
        .pong(Pong(id: 12, busy: BusyHandler(event: "DocumentSaved", plugin: "spell", sinceMilliseconds: 1500))),
        .log(LogRecord(level: "warning", message: "slow disk", metadata: ["plugin": "spell"])),
        .log(LogRecord(level: "info", message: "é ✓ \u{1F600} \"quoted\"\n")),
        .dispose(Dispose(reason: "closed by user")),
        .dispose(Dispose()),
        .bye(Bye(reason: "disposed")),
        .error(failure),
        .error(WireFailure(code: FailureCode(rawValue: "fromTheFuture"), message: "new code")),
    ]
}
