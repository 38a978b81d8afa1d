#if canImport(Glibc)
import Glibc
#endif
import CPluginLibrary
import Foundation
import PluginBridge
import PluginWire
import Synchronization

/// The worker's side of one loaded plugin library: the library's session scope, reached through
/// the library's C table with wire messages as bytes, seen by the worker as a ``SessionResponder``.
///
/// The library runs its own copy of PluginKit; nothing but C types and message bytes crosses.
/// Its `globalBus` calls and log records go on to the supervisor through the worker's connection;
/// the session's calls into it wait here for its replies.
final class LibraryLink: SessionResponder, @unchecked Sendable {
    // @unchecked: `table`, `host` and `session` are written once, before the link is shared, and the
    // C table is immutable static storage of the library; everything else is locked or Sendable.

    /// The path the operator named.
    let path: String
    /// The name the library gives itself.
    let name: String
    /// The session plugins it offers.
    let plugins: [String]

    private let table: UnsafePointer<psl_library_v1>
    private let connection: WorkerConnection
    private let calls = PendingReplies()
    private let host: UnsafeMutablePointer<psl_host_v1>
    private var session: UnsafeMutableRawPointer?
    private let starting = Mutex<CheckedContinuation<Result<Ready, WireFailure>, Never>?>(nil)
    private let disposing = Mutex<CheckedContinuation<String, Never>?>(nil)

    init(path: String, name: String, plugins: [String], table: UnsafePointer<psl_library_v1>, connection: WorkerConnection) {
        self.path = path
        self.name = name
        self.plugins = plugins
        self.table = table
        self.connection = connection
        self.host = UnsafeMutablePointer<psl_host_v1>.allocate(capacity: 1)
    }

    /// Starts the library's session side; false when it refuses (its `open` returned NULL).
    /// The link and its host table live as long as the process.
    func open() -> Bool {
        host.initialize(to: psl_host_v1(context: Unmanaged.passRetained(self).toOpaque(), send: { context, body, length in
            guard let context else { return }
            let link = Unmanaged<LibraryLink>.fromOpaque(context).takeUnretainedValue()
            link.received(UnsafeRawBufferPointer(start: body, count: length))
        }))
        guard let open = table.pointee.open, let session = open(host) else { return false }
        self.session = session
        return true
    }

    // MARK: The session's calls into the library

    func start(_ welcome: Welcome) async throws -> Ready {
        let outcome = await withCheckedContinuation { continuation in
            starting.withLock { $0 = continuation }
            deliver(.welcome(welcome))
        }
        return try outcome.get()
    }

    func answer(_ emit: Emit) async -> EmitResult {
        await relay(.emit(emit), answering: "emit", { reply in
            guard case .emitResult(var result) = reply else { return nil }
            result.id = emit.id
            return result
        }, failed: { EmitResult(id: emit.id, handled: 0, stopped: false, payload: nil, error: $0) })
    }

    func answer(_ request: Request) async -> Response {
        await relay(.request(request), answering: "request", { reply in
            guard case .response(var response) = reply else { return nil }
            response.id = request.id
            return response
        }, failed: { Response(id: request.id, payload: nil, error: $0) })
    }

    func reconcile(_ update: SettingsUpdate) async -> SettingsResult {
        await relay(.settings(update), answering: "settings", { reply in
            guard case .settingsResult(var result) = reply else { return nil }
            result.id = update.id
            return result
        }, failed: { SettingsResult(id: update.id, attached: [], detached: [], changed: [], error: $0) })
    }

    func dispose() async -> String {
        await withCheckedContinuation { continuation in
            disposing.withLock { $0 = continuation }
            deliver(.dispose(Dispose(reason: "session disposed")))
        }
    }

    /// Sends `message` under an id of the link's own and turns the library's reply into the
    /// session's answer (`unpack`), or a failure into one (`failed`).
    private func relay<Answer>(_ message: WireMessage, answering what: String, _ unpack: (WireMessage) -> Answer?,
                               failed: (WireFailure) -> Answer) async -> Answer {
        let reply = await calls.call({ id in message.renumbered(id) }, encode: { .success($0) }, send: { deliver($0) },
                                     cancel: { [weak self] id in self?.deliver(.cancel(Cancel(id: id))) })
        switch reply {
        case .success(let answer):
            return unpack(answer) ?? failed(WireFailure(code: .protocolBreach, message: "plugin library \(name) answered a \(what) with \(answer.kind)"))
        case .failure(let failure):
            return failed(failure)
        }
    }

    /// Hands one message to the library.
    @discardableResult
    private func deliver(_ message: WireMessage) -> Bool {
        guard let session, let receive = table.pointee.receive else { return false }
        let body = MessageCodec.encodeBody(message)
        body.withUnsafeBufferPointer { receive(session, $0.baseAddress, $0.count) }
        return true
    }

    // MARK: What the library sends

    /// One message from the library (any thread): replies resume their callers; its `globalBus`
    /// calls and log records go on to the supervisor.
    private func received(_ body: UnsafeRawBufferPointer) {
        let message: WireMessage
        do {
            message = try MessageCodec.decode(body: body)
        } catch {
            report("sent an invalid message: \(error)")
            return
        }
        switch message {
        case .ready(let ready):
            starting.withLock { $0.take() }?.resume(returning: .success(ready))
        case .error(let failure):
            if let waiting = starting.withLock({ $0.take() }) {
                waiting.resume(returning: .failure(failure))
            } else {
                report("reported \(failure)")
            }
        case .emitResult(let result):
            calls.complete(id: result.id, with: message)
        case .response(let response):
            calls.complete(id: response.id, with: message)
        case .settingsResult(let result):
            calls.complete(id: result.id, with: message)
        case .bye(let bye):
            disposing.withLock { $0.take() }?.resume(returning: bye.reason)
        case .emit(let emit) where emit.scope == .global:
            forward(emit.id, isEmit: true) { .emit(emit).renumbered($0) }
        case .request(let request) where request.scope == .global:
            forward(request.id, isEmit: false) { .request(request).renumbered($0) }
        case .log(var record):
            record.metadata["pluginLibrary"] = name
            connection.send(.log(record))
        case .cancel:
            break  // a call to the supervisor runs to its end; its late reply is dropped by the library
        default:
            report("sent \(message.kind), which a plugin library's session does not send")
        }
    }

    /// Sends the library's `globalBus` call on to the supervisor and its reply back, under the
    /// library's own id.
    private func forward(_ libraryID: UInt64, isEmit: Bool, _ make: @escaping @Sendable (UInt64) -> WireMessage) {
        Task {
            let reply: WireMessage
            switch await connection.call(make) {
            case .success(.emitResult(var result)):
                result.id = libraryID
                reply = .emitResult(result)
            case .success(.response(var response)):
                response.id = libraryID
                reply = .response(response)
            case .success(let other):
                reply = .error(WireFailure(code: .protocolBreach, message: "the supervisor answered with \(other.kind)"))
            case .failure(let failure):
                reply = isEmit
                    ? .emitResult(EmitResult(id: libraryID, handled: 0, stopped: false, payload: nil, error: failure))
                    : .response(Response(id: libraryID, payload: nil, error: failure))
            }
            deliver(reply)
        }
    }

    private func report(_ problem: String) {
        connection.send(.log(LogRecord(level: "error", message: "plugin library \(name) \(problem)", metadata: ["pluginLibrary": name])))
    }
}

extension WireMessage {
    /// The same call under correlation id `id` (emits, requests and settings; other kinds as they are).
    func renumbered(_ id: UInt64) -> WireMessage {
        switch self {
        case .emit(var emit):
            emit.id = id
            return .emit(emit)
        case .request(var request):
            request.id = id
            return .request(request)
        case .settings(var update):
            update.id = id
            return .settings(update)
        default:
            return self
        }
    }
}
