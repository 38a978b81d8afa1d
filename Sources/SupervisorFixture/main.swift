// A worker that speaks PluginWire directly, without the plugin runtime: the supervisor's own
// tests spawn it (for real, confined) to drive every path of the supervisor engine, including
// the hostile ones a plugin could take.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginSandbox
import PluginWire

WorkerBootstrap.start(zygote: false) { context in
    FixtureWorker(context: context).run()
}
FileHandle.standardError.write(Data("supervisor-fixture: run by the supervisor's tests as a worker only\n".utf8))
exit(64)

struct FixtureWorker {
    let context: WorkerContext
    let socket: InheritedSocket
    /// The session this worker serves (a spare would learn it from the welcome; the fixture is never one).
    var sessionID: String { context.sessionID ?? "" }

    init(context: WorkerContext) {
        self.context = context
        self.socket = InheritedSocket(descriptor: context.socket)
    }

    func send(_ message: WireMessage) {
        guard let frame = try? MessageCodec.encodeFrame(message) else { return }
        try? socket.write(all: frame)
    }

    func run() -> Never {
        let environment = ProcessInfo.processInfo.environment
        let helloSession = environment["FIXTURE_HELLO_SESSION"] ?? sessionID
        let helloVersion = environment["FIXTURE_HELLO_VERSION"].flatMap(Int.init) ?? ProtocolVersion.current
        print("fixture worker \(sessionID) starting")
        fflush(nil)
        send(.hello(Hello(protocolVersion: helloVersion, sessionID: helloSession, pid: getpid(), plugins: ["fixture"],
                          sandboxLayers: context.confinement.layers.map(\.name))))
        var decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var pendingGlobal: [UInt64: UInt64] = [:]   // global call id -> supervisor emit id
        var nextID: UInt64 = 1 << 32
        while true {
            let count = (try? buffer.withUnsafeMutableBytes { try socket.read(into: $0) }) ?? 0
            if count == 0 { exit(0) }
            decoder.append(buffer[0..<count])
            while let body = try? decoder.nextFrame(), let message = try? MessageCodec.decode(body: body) {
                switch message {
                case .welcome:
                    send(.ready(Ready(enabledPlugins: ["fixture"], attachedPlugins: ["fixture"])))
                case .ping(let ping):
                    send(.pong(Pong(id: ping.id)))
                case .dispose:
                    send(.bye(Bye(reason: "disposed")))
                    exit(0)
                case .settings(let update):
                    send(.settingsResult(SettingsResult(id: update.id, attached: [], detached: [], changed: ["fixture"])))
                case .request(let request):
                    send(.response(Response(id: request.id, payload: .object(["echo": request.payload]))))
                case .emitResult(let result):
                    if let original = pendingGlobal.removeValue(forKey: result.id) {
                        send(.emitResult(EmitResult(id: original, payload: result.payload, stopped: result.stopped, error: result.error)))
                    }
                case .emit(let emit):
                    handle(emit, pendingGlobal: &pendingGlobal, nextID: &nextID)
                default:
                    break
                }
            }
        }
    }

    func handle(_ emit: Emit, pendingGlobal: inout [UInt64: UInt64], nextID: inout UInt64) {
        switch emit.event {
        case "echo":
            send(.emitResult(EmitResult(id: emit.id, payload: emit.payload, stopped: false)))
        case "increment":
            guard case .object(var fields) = emit.payload, case .int(let n)? = fields["n"] else { return }
            fields["n"] = .int(n + 1)
            send(.emitResult(EmitResult(id: emit.id, payload: .object(fields), stopped: n >= 100)))
        case "global":
            guard case .object(let fields) = emit.payload, case .string(let name)? = fields["event"] else { return }
            nextID += 1
            pendingGlobal[nextID] = emit.id
            send(.emit(Emit(id: nextID, scope: .global, event: name, payload: fields["payload"] ?? .null)))
        case "print":
            print("printed by the plugin: \(emit.payload)")
            fflush(nil)
            send(.emitResult(EmitResult(id: emit.id, payload: emit.payload, stopped: false)))
        case "crash":
            raise(SIGSEGV)
        case "exit":
            if case .int(let code) = emit.payload { exit(Int32(code)) }
            exit(1)
        case "hang":
            while true { usleep(1_000_000) }
        case "garbage":
            try? socket.write(all: [0, 0, 0, 5] + Array("nope!".utf8))
        case "oversize":
            try? socket.write(all: [0x10, 0, 0, 0])
        case "partial":
            try? socket.write(all: [0, 0, 0, 100] + Array("{\"kind\":".utf8))
        case "flood":
            for index in 0..<100_000 { send(.log(LogRecord(level: "info", message: "flood \(index)"))) }
        case "second-hello":
            send(.hello(Hello(sessionID: sessionID, pid: getpid(), plugins: [], sandboxLayers: [])))
        case "close-socket":
            socket.close()
            while true { usleep(1_000_000) }
        case "random":
            // Hostile input: seeded random frames, mixing garbage, truncation, huge lengths and
            // valid JSON of the wrong shape, written straight to the supervisor.
            guard case .int(let seed) = emit.payload else { return }
            var state = UInt64(bitPattern: seed) &+ 0x9E37_79B9_7F4A_7C15
            func next() -> UInt64 {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                return state
            }
            let shapes = [#"{"kind":"emit"}"#, #"{"kind":"pong","id":-1}"#, #"{"kind":"frob","id":1}"#, "[]", "null",
                          #"{"kind":"emitResult","id":"x","stopped":1}"#, #"{"kind":"log","level":7}"#, "{\"kind\":\"hello\""]
            var bytes: [UInt8] = []
            for _ in 0..<(1 + Int(next() % 8)) {
                switch next() % 4 {
                case 0:
                    let body = Array(shapes[Int(next() % UInt64(shapes.count))].utf8)
                    bytes += [0, 0, UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
                case 1:
                    let count = Int(next() % 64)
                    bytes += [0, 0, 0, UInt8(count)] + (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
                case 2:
                    bytes += (0..<4).map { _ in UInt8(truncatingIfNeeded: next()) }
                default:
                    bytes += (0..<Int(next() % 32)).map { _ in UInt8(truncatingIfNeeded: next()) }
                }
            }
            try? socket.write(all: bytes)
            send(.emitResult(EmitResult(id: emit.id, payload: .int(Int64(bytes.count)), stopped: false)))
        case "deaf":
            // Stop reading forever; the supervisor's queue towards us must not grow without bound.
            while true { usleep(1_000_000) }
        default:
            send(.emitResult(EmitResult(id: emit.id, payload: nil, stopped: false,
                                        error: WireFailure(code: .notWired, message: "no handler for \(emit.event)"))))
        }
    }
}
