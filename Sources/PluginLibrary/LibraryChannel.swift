import CPluginLibrary
import PluginBridge
import PluginWire

/// A plugin library's end of its link to the worker: messages go out through the worker's
/// `send` callback and come in through the library's `receive`; replies to the library's own
/// `globalBus` calls resume their callers, everything else goes to the session's endpoint.
final class LibraryChannel: WireChannel, @unchecked Sendable {
    // @unchecked: `host` points to the worker's table, which lives as long as the process and is
    // only read; every other stored property is Sendable.

    private let host: UnsafePointer<psl_host_v1>
    private let calls = PendingReplies()
    let messages: AsyncStream<WireMessage>
    private let input: AsyncStream<WireMessage>.Continuation

    init(host: UnsafePointer<psl_host_v1>) {
        self.host = host
        (messages, input) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    @discardableResult
    func send(_ message: WireMessage) -> Bool {
        guard let send = host.pointee.send else { return false }
        let body = MessageCodec.encodeBody(message)
        body.withUnsafeBufferPointer { send(host.pointee.context, $0.baseAddress, $0.count) }
        return true
    }

    func call(_ make: (UInt64) -> WireMessage) async -> PendingReplies.Reply {
        await calls.call(make, encode: { .success($0) }, send: { send($0) })
    }

    /// One message from the worker.
    func received(_ body: UnsafeRawBufferPointer) {
        let message: WireMessage
        do {
            message = try MessageCodec.decode(body: body)
        } catch {
            send(.error(WireFailure(code: .protocolBreach, message: "the plugin library received an invalid message: \(error)")))
            return
        }
        switch message {
        case .emitResult(let result): calls.complete(id: result.id, with: message)
        case .response(let response): calls.complete(id: response.id, with: message)
        default: input.yield(message)
        }
    }
}
