import PluginWire

/// One representative message of every kind, with optional fields both set and unset.
enum WireMessageSamples {
    static let failure = WireFailure(code: .handlerFailed, message: "handler threw", details: ["plugin": "spell"])

    static func json(_ text: String) -> RawJSON {
        do {
            return try RawJSON(validating: Array(text.utf8))
        } catch {
            preconditionFailure("sample is not JSON: \(error)")
        }
    }

    static let all: [WireMessage] = [
        .hello(Hello(pid: 4242, plugins: ["spell", "lint"], build: "pluginsandbox 2.0 (abc123)")),
        .welcome(Welcome(sessionID: "s-1", settings: json(#"{"plugins":{"spell":{"enabled":true}}}"#), globalPlugins: ["audit"],
                         maximumFrameLength: 65_536, heartbeatIntervalMilliseconds: 500, maximumInFlight: 64)),
        .ready(Ready(enabledPlugins: ["spell", "lint"], attachedPlugins: ["spell"])),
        .emit(Emit(id: 1, scope: .global, event: "DocumentSaved", identifier: "doc-9",
                   payload: json(#"{"path":"/a.txt","size":9223372036854775807}"#))),
        .emit(Emit(id: UInt64.max, scope: .session, event: "Tick", payload: .null)),
        .emitResult(EmitResult(id: 1, handled: 2, stopped: true, payload: json(#"{"size":-3}"#))),
        .emitResult(EmitResult(id: 2, handled: 0, stopped: false, error: failure)),
        .emitResult(EmitResult(id: 3, handled: 1, stopped: false, payload: .null)),
        .emitResult(EmitResult(id: 4, handled: 3, stopped: false)),
        .request(Request(id: 5, scope: .global, name: "Lookup", identifier: "x", payload: json("[1,2.5,123456789012345678901234567890]"),
                         optional: true, timeoutMilliseconds: 250)),
        .request(Request(id: 6, scope: .session, name: "Lookup", payload: json(#""q""#))),
        .response(Response(id: 5, payload: json(#""answer""#))),
        .response(Response(id: 6, payload: nil)),
        .response(Response(id: 7, payload: .null)),
        .response(Response(id: 8, payload: nil, error: WireFailure(code: .allConceded, message: "no handler answered"))),
        .cancel(Cancel(id: 5)),
        .settings(SettingsUpdate(id: 9, settings: json(#"{"services":{}}"#), globalPlugins: [])),
        .settingsResult(SettingsResult(id: 9, attached: ["lint"], detached: [], changed: ["spell"])),
        .settingsResult(SettingsResult(id: 10, attached: [], detached: [], changed: [],
                                       error: WireFailure(code: .settingsRejected, message: "bad key"))),
        .ping(Ping(id: 11)),
        .pong(Pong(id: 11)),
        .pong(Pong(id: 12, busy: BusyHandler(event: "DocumentSaved", plugin: "spell", sinceMilliseconds: 1500))),
        .log(LogRecord(level: "warning", message: "slow disk", metadata: ["plugin": "spell"])),
        .log(LogRecord(level: "info", message: "é ✓ \u{1F600} \"quoted\" \\ \u{1}\n\t")),
        .dispose(Dispose(reason: "closed by user")),
        .dispose(Dispose()),
        .bye(Bye(reason: "disposed")),
        .error(failure),
        .error(WireFailure(code: FailureCode(rawValue: "fromTheFuture"), message: "new code")),
    ]
}
