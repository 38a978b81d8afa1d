#if canImport(Glibc)
import Glibc
#endif
import PluginBridge
import PluginSystem
import PluginWire
import Synchronization
import SystemPackage

/// The worker's end of the session socket.
///
/// A reader thread decodes frames and answers heartbeats itself, naming the handler the main
/// thread is running, so a plugin stuck in a handler is reported by name; every other message
/// goes to ``WorkerExecutor`` in order. Writers (both threads) send whole frames under one lock.
/// The worker's own calls to the supervisor (`globalBus` traffic) wait here for their replies.
final class WorkerConnection: WireChannel {
    typealias Reply = PendingReplies.Reply

    /// How the reading ended.
    struct End: Sendable {
        /// Why, in words.
        let reason: String
        /// Whether the supervisor closed its end (end of stream), rather than a failure here.
        let supervisorClosed: Bool
    }

    private let socket: FileDescriptor
    private let writeLock = Mutex(())
    private let calls = PendingReplies()
    /// The supervisor's calls running now, named in heartbeat answers.
    let inFlight = InFlightTable()

    /// Wraps the inherited session socket (blocking).
    init(socket: FileDescriptor) {
        self.socket = socket
    }

    // MARK: Writing

    /// The largest frame body the supervisor accepts (the default until the welcome says otherwise).
    private let maximumFrameLength = WireLimits.defaultMaximumFrameLength

    /// Encodes one message as a frame within the frame limit.
    private func frame(_ message: WireMessage) -> Result<[UInt8], WireError> {
        var frame: [UInt8] = []
        do {
            try MessageCodec.appendFrame(message, to: &frame, maximumFrameLength: maximumFrameLength)
            return .success(frame)
        } catch {
            return .failure(error)
        }
    }

    /// Sends one message; false when the socket is gone or the message is too large to send.
    @discardableResult
    func send(_ message: WireMessage) -> Bool {
        guard case .success(let frame) = frame(message) else { return false }
        return send(frame: frame)
    }

    /// Sends one encoded frame whole, or nothing more of it once the socket failed.
    @discardableResult
    func send(frame: [UInt8]) -> Bool {
        writeLock.withLock { _ in
            frame.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    switch socket.sendNow(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                    case .transferred(let count): offset += count
                    case .wouldBlock: continue  // the socket is blocking; only a signal gets here
                    case .endOfStream, .failed: return false
                    }
                }
                return true
            }
        }
    }

    // MARK: Calls to the supervisor

    /// Sends `make(id)` and waits for the supervisor's reply with that id.
    func call(_ make: (UInt64) -> WireMessage) async -> Reply {
        await calls.call(make, encode: { message in
            frame(message).mapError { WireFailure(code: .decodingFailed, message: "cannot send it to the supervisor: \($0)") }
        }, send: { send(frame: $0) })
    }

    // MARK: Reading

    /// Reads frames on a dedicated thread; `onMessage` gets every message that is not a heartbeat
    /// or a reply to the worker's own call, `onEnd` the end (once). False when no thread could start.
    func startReading(
        maximumFrameLength: Int,
        onMessage: @escaping @Sendable (WireMessage) -> Void,
        onEnd: @escaping @Sendable (End) -> Void
    ) -> Bool {
        let reader = WorkerThread(stackSize: 256 * 1024) { [self] in
            let end = readLoop(maximumFrameLength: maximumFrameLength, onMessage: onMessage)
            calls.close(reason: end.reason)
            onEnd(end)
        }
        guard let handle = reader.start() else { return false }
        pthread_detach(handle)
        return true
    }

    private func readLoop(maximumFrameLength: Int, onMessage: @Sendable (WireMessage) -> Void) -> End {
        var decoder = FrameDecoder(maximumFrameLength: maximumFrameLength)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            switch socket.readNow(into: buffer) {
            case .transferred(let count):
                decoder.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            case .wouldBlock:
                continue
            case .endOfStream:
                return End(reason: "the supervisor closed the session socket", supervisorClosed: true)
            case .failed(let errno):
                return End(reason: "session socket failed: \(errno)", supervisorClosed: false)
            }
            do {
                while let body = try decoder.nextFrame() {
                    dispatch(try MessageCodec.decode(body: body), onMessage)
                }
            } catch {
                return End(reason: "the supervisor sent an invalid frame: \(error)", supervisorClosed: false)
            }
        }
    }

    private func dispatch(_ message: WireMessage, _ onMessage: @Sendable (WireMessage) -> Void) {
        switch message {
        case .ping(let ping):
            send(.pong(Pong(id: ping.id, busy: inFlight.busiest())))
        case .emitResult(let result):
            calls.complete(id: result.id, with: message)
        case .response(let response):
            calls.complete(id: response.id, with: message)
        default:
            onMessage(message)
        }
    }
}


/// A thread of the worker's own, made after the fork (so the Swift runtime's per-thread caches
/// are its own), running `body`.
final class WorkerThread: Sendable {
    private let body: @Sendable () -> Void
    private let stackSize: Int

    init(stackSize: Int, _ body: @escaping @Sendable () -> Void) {
        self.body = body
        self.stackSize = stackSize
    }

    /// Starts the thread; its handle, or nil when it could not be made.
    func start() -> pthread_t? {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, stackSize)
        var handle = pthread_t()
        let box = Unmanaged.passRetained(self)
        let result = pthread_create(&handle, &attributes, { argument in
            let thread = Unmanaged<WorkerThread>.fromOpaque(argument!).takeRetainedValue()
            thread.body()
            return nil
        }, box.toOpaque())
        pthread_attr_destroy(&attributes)
        guard result == 0 else {
            box.release()
            return nil
        }
        return handle
    }
}
