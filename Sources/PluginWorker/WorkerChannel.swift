import Foundation
import PluginSandbox
import PluginWire
import Synchronization

/// The worker's end of the session socket: a reader thread that decodes frames, serialised
/// writes, and the worker's own correlated calls to the supervisor (`globalBus` traffic).
///
/// The reader runs on a plain thread, not on the cooperative pool, so heartbeats are answered
/// even while every pool thread is stuck in a plugin's handler; the answer then names that handler.
final class WorkerChannel: Sendable {
    typealias Reply = Result<WireMessage, WireFailure>

    private struct State {
        var pending: [UInt64: CheckedContinuation<Reply, Never>] = [:]
        var nextID: UInt64 = 1
        var closed: String?
    }

    private let socket: InheritedSocket
    private let maximumFrameLength: Int
    private let state = Mutex(State())

    /// Wraps the inherited session socket.
    init(socket: InheritedSocket, maximumFrameLength: Int = WireLimits.defaultMaximumFrameLength) {
        self.socket = socket
        self.maximumFrameLength = maximumFrameLength
    }

    /// Sends one message; false when the socket is gone.
    @discardableResult
    func send(_ message: WireMessage) -> Bool {
        var frame: [UInt8] = []
        guard (try? MessageCodec.appendFrame(message, to: &frame)) != nil else { return false }
        do {
            try socket.write(all: frame)
            return true
        } catch {
            return false
        }
    }

    /// Sends `make(id)` and waits for the supervisor's reply with that id.
    func call(_ make: (UInt64) -> WireMessage) async -> Reply {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let message = make(id)
        return await withCheckedContinuation { continuation in
            let closed: String? = state.withLock { state in
                if let closed = state.closed { return closed }
                state.pending[id] = continuation
                return nil
            }
            if let closed {
                continuation.resume(returning: .failure(WireFailure(code: .sessionDead, message: closed)))
            } else if !send(message) {
                fail(id: id, WireFailure(code: .sessionDead, message: "the session socket is closed"))
            }
        }
    }

    /// Resumes the call waiting for `id` with `message`; false when none waits.
    @discardableResult
    func complete(id: UInt64, with message: WireMessage) -> Bool {
        guard let continuation = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return false }
        continuation.resume(returning: .success(message))
        return true
    }

    private func fail(id: UInt64, _ failure: WireFailure) {
        state.withLock { $0.pending.removeValue(forKey: id) }?.resume(returning: .failure(failure))
    }

    /// How the reading ended.
    struct End: Sendable {
        /// Why, in words.
        let reason: String
        /// Whether the supervisor closed its end (end of stream), rather than a failure here.
        let supervisorClosed: Bool
    }

    /// Reads frames on a dedicated thread, calling `onMessage` for each; `onEnd` once at the end.
    func startReading(onMessage: @escaping @Sendable (WireMessage) -> Void, onEnd: @escaping @Sendable (End) -> Void) {
        let thread = Thread { [self] in
            let end = readLoop(onMessage)
            let reason = end.reason
            let waiting = state.withLock { state -> [CheckedContinuation<Reply, Never>] in
                state.closed = reason
                defer { state.pending.removeAll() }
                return Array(state.pending.values)
            }
            for continuation in waiting {
                continuation.resume(returning: .failure(WireFailure(code: .sessionDead, message: reason)))
            }
            onEnd(end)
        }
        thread.name = "plugin-worker-reader"
        thread.stackSize = 512 * 1024
        thread.start()
    }

    private func readLoop(_ onMessage: @Sendable (WireMessage) -> Void) -> End {
        var decoder = FrameDecoder(maximumFrameLength: maximumFrameLength)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count: Int
            do {
                count = try socket.read(into: buffer)
            } catch {
                return End(reason: "session socket failed: \(error)", supervisorClosed: false)
            }
            if count == 0 { return End(reason: "the supervisor closed the session socket", supervisorClosed: true) }
            decoder.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            do {
                while let body = try decoder.nextFrame() {
                    onMessage(try MessageCodec.decode(body: body))
                }
            } catch {
                return End(reason: "the supervisor sent an invalid frame: \(error)", supervisorClosed: false)
            }
        }
    }
}
