/// Writes each message as its flat JSON object: `kind` first, then the fields in the order of
/// the protocol document; absent optionals are left out, payloads are spliced verbatim.
enum MessageEncoder {
    /// A close upper estimate of the body length (escapes aside), to reserve the buffer once.
    static func estimatedLength(of message: WireMessage) -> Int {
        let fixed = 160
        switch message {
        case .hello(let hello): return fixed + length(hello.plugins) + hello.build.utf8.count
        case .welcome(let welcome):
            return fixed + welcome.sessionID.utf8.count + welcome.settings.bytes.count + length(welcome.globalPlugins)
        case .ready(let ready): return fixed + length(ready.enabledPlugins) + length(ready.attachedPlugins)
        case .emit(let emit):
            return fixed + emit.event.utf8.count + (emit.identifier?.utf8.count ?? 0) + emit.payload.bytes.count
        case .emitResult(let result): return fixed + (result.payload?.bytes.count ?? 0) + length(result.error)
        case .request(let request):
            return fixed + request.name.utf8.count + (request.identifier?.utf8.count ?? 0) + request.payload.bytes.count
        case .response(let response): return fixed + (response.payload?.bytes.count ?? 0) + length(response.error)
        case .settings(let update): return fixed + update.settings.bytes.count + length(update.globalPlugins)
        case .settingsResult(let result):
            return fixed + length(result.attached) + length(result.detached) + length(result.changed) + length(result.error)
        case .pong(let pong): return fixed + (pong.busy.map { $0.event.utf8.count + ($0.plugin?.utf8.count ?? 0) } ?? 0)
        case .log(let record): return fixed + record.level.utf8.count + record.message.utf8.count + length(record.metadata)
        case .dispose(let dispose): return fixed + (dispose.reason?.utf8.count ?? 0)
        case .bye(let bye): return fixed + bye.reason.utf8.count
        case .error(let failure): return fixed + length(failure)
        case .cancel, .ping: return fixed
        }
    }

    private static func length(_ strings: [String]) -> Int {
        strings.reduce(0) { $0 + $1.utf8.count + 3 }
    }

    private static func length(_ map: [String: String]?) -> Int {
        map?.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 6 } ?? 0
    }

    private static func length(_ failure: WireFailure?) -> Int {
        guard let failure else { return 0 }
        return 48 + failure.code.rawValue.utf8.count + failure.message.utf8.count + length(failure.details)
    }

    /// Appends the JSON body of `message`.
    static func write(_ message: WireMessage, to out: inout JSONOutput) {
        switch message {
        case .hello(let hello):
            out.append(#"{"kind":"hello","protocolVersion":"#)
            out.append(integer: hello.protocolVersion)
            out.append(#","pid":"#)
            out.append(integer: hello.pid)
            out.append(#","plugins":"#)
            out.append(strings: hello.plugins)
            out.append(#","build":"#)
            out.append(string: hello.build)
        case .welcome(let welcome):
            out.append(#"{"kind":"welcome","protocolVersion":"#)
            out.append(integer: welcome.protocolVersion)
            out.append(#","sessionID":"#)
            out.append(string: welcome.sessionID)
            out.append(#","settings":"#)
            out.append(welcome.settings)
            out.append(#","globalPlugins":"#)
            out.append(strings: welcome.globalPlugins)
            out.append(#","maximumFrameLength":"#)
            out.append(integer: welcome.maximumFrameLength)
            out.append(#","heartbeatIntervalMilliseconds":"#)
            out.append(integer: welcome.heartbeatIntervalMilliseconds)
            out.append(#","maximumInFlight":"#)
            out.append(integer: welcome.maximumInFlight)
            if let policy = welcome.unknownReferences {
                out.append(#","unknownReferences":"#)
                out.append(string: policy)
            }
        case .ready(let ready):
            out.append(#"{"kind":"ready","enabledPlugins":"#)
            out.append(strings: ready.enabledPlugins)
            out.append(#","attachedPlugins":"#)
            out.append(strings: ready.attachedPlugins)
        case .emit(let emit):
            out.append(#"{"kind":"emit","id":"#)
            out.append(integer: emit.id)
            writeAddress(scope: emit.scope, nameKey: #","event":"#, name: emit.event, identifier: emit.identifier, to: &out)
            out.append(#","payload":"#)
            out.append(emit.payload)
        case .emitResult(let result):
            out.append(#"{"kind":"emitResult","id":"#)
            out.append(integer: result.id)
            out.append(#","handled":"#)
            out.append(integer: result.handled)
            out.append(#","stopped":"#)
            out.append(result.stopped)
            writeOutcome(payload: result.payload, error: result.error, to: &out)
        case .request(let request):
            out.append(#"{"kind":"request","id":"#)
            out.append(integer: request.id)
            writeAddress(scope: request.scope, nameKey: #","name":"#, name: request.name, identifier: request.identifier, to: &out)
            out.append(#","payload":"#)
            out.append(request.payload)
            out.append(#","optional":"#)
            out.append(request.optional)
            if let timeout = request.timeoutMilliseconds {
                out.append(#","timeoutMilliseconds":"#)
                out.append(integer: timeout)
            }
        case .response(let response):
            out.append(#"{"kind":"response","id":"#)
            out.append(integer: response.id)
            writeOutcome(payload: response.payload, error: response.error, to: &out)
        case .cancel(let cancel):
            out.append(#"{"kind":"cancel","id":"#)
            out.append(integer: cancel.id)
        case .settings(let update):
            out.append(#"{"kind":"settings","id":"#)
            out.append(integer: update.id)
            out.append(#","settings":"#)
            out.append(update.settings)
            out.append(#","globalPlugins":"#)
            out.append(strings: update.globalPlugins)
        case .settingsResult(let result):
            out.append(#"{"kind":"settingsResult","id":"#)
            out.append(integer: result.id)
            out.append(#","attached":"#)
            out.append(strings: result.attached)
            out.append(#","detached":"#)
            out.append(strings: result.detached)
            out.append(#","changed":"#)
            out.append(strings: result.changed)
            writeOutcome(payload: nil, error: result.error, to: &out)
        case .ping(let ping):
            out.append(#"{"kind":"ping","id":"#)
            out.append(integer: ping.id)
        case .pong(let pong):
            out.append(#"{"kind":"pong","id":"#)
            out.append(integer: pong.id)
            if let busy = pong.busy { write(busy, to: &out) }
        case .log(let record):
            out.append(#"{"kind":"log","level":"#)
            out.append(string: record.level)
            out.append(#","message":"#)
            out.append(string: record.message)
            out.append(#","metadata":"#)
            out.append(stringMap: record.metadata)
        case .dispose(let dispose):
            out.append(#"{"kind":"dispose""#)
            if let reason = dispose.reason {
                out.append(#","reason":"#)
                out.append(string: reason)
            }
        case .bye(let bye):
            out.append(#"{"kind":"bye","reason":"#)
            out.append(string: bye.reason)
        case .error(let failure):
            out.append(#"{"kind":"error","#)
            writeFields(of: failure, to: &out)
        }
        out.append(byte: ASCII.closeBrace)
    }

    private static func writeAddress(scope: Scope, nameKey: StaticString, name: String, identifier: String?, to out: inout JSONOutput) {
        switch scope {
        case .global: out.append(#","scope":"global""#)
        case .session: out.append(#","scope":"session""#)
        }
        out.append(nameKey)
        out.append(string: name)
        if let identifier {
            out.append(#","identifier":"#)
            out.append(string: identifier)
        }
    }

    private static func writeOutcome(payload: RawJSON?, error: WireFailure?, to out: inout JSONOutput) {
        if let payload {
            out.append(#","payload":"#)
            out.append(payload)
        }
        if let error {
            out.append(#","error":{"#)
            writeFields(of: error, to: &out)
            out.append(byte: ASCII.closeBrace)
        }
    }

    /// `"code":…,"message":…[,"details":{…}]`, the members of a failure object.
    private static func writeFields(of failure: WireFailure, to out: inout JSONOutput) {
        out.append(#""code":"#)
        out.append(string: failure.code.rawValue)
        out.append(#","message":"#)
        out.append(string: failure.message)
        if let details = failure.details {
            out.append(#","details":"#)
            out.append(stringMap: details)
        }
    }

    private static func write(_ busy: BusyHandler, to out: inout JSONOutput) {
        out.append(#","busy":{"event":"#)
        out.append(string: busy.event)
        if let plugin = busy.plugin {
            out.append(#","plugin":"#)
            out.append(string: plugin)
        }
        out.append(#","sinceMilliseconds":"#)
        out.append(integer: busy.sinceMilliseconds)
        out.append(byte: ASCII.closeBrace)
    }
}
