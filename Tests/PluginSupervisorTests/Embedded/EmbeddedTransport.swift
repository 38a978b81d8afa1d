#if canImport(Glibc)
import Glibc
#endif
import PluginSandbox
import PluginSystem
import Logging
import PluginWire
import Synchronization
@testable import PluginSupervisor

/// A worker in memory: the test plays the worker's side of a ``WorkerLink`` without a process or a
/// socket (the way swift-nio-extras tests decoders through `EmbeddedChannel`). Frames the link
/// sends are decoded into ``sent``; what the test delivers goes through the same checks as bytes
/// from a real worker. A kill ends the "process" on the next loop turn, as SIGKILL would.
/// Use it on its loop only (through ``EmbeddedLink``).
final class EmbeddedTransport: WorkerTransport, @unchecked Sendable {
    // @unchecked: used on its loop only.
    let pid: Int32
    private weak var delegate: (any WorkerTransportDelegate)?
    private let loop: EventLoop
    private(set) var sent: [WireMessage] = []
    private(set) var sessionOpen = false
    private(set) var sessionEnded = false
    private(set) var killed = false
    private(set) var closed = false
    private(set) var outputPaused = false
    private(set) var exited = false
    private var received = 0
    /// Claims the link is behind on reading (the supervisor's fault, not the worker's).
    var pretendsUnreadInput = false
    /// Called for every message the link sends (a scripted worker answers here).
    var onSend: ((WireMessage) -> Void)?
    /// Called when the link starts watching the worker (a scripted worker reports and greets).
    var onStart: (() -> Void)?

    init(pid: Int32, loop: EventLoop) {
        self.pid = pid
        self.loop = loop
    }

    // MARK: WorkerTransport

    func start(delegate: any WorkerTransportDelegate) throws(SystemCallError) {
        self.delegate = delegate
        onStart?()
    }

    func openSession(maximumFrameLength: Int, maximumQueuedBytes: Int) throws(SystemCallError) { sessionOpen = true }

    var canSend: Bool { sessionOpen && !sessionEnded && !closed }

    @discardableResult
    func send(_ frame: [UInt8]) -> Bool {
        guard canSend else { return false }
        precondition(frame.count >= WireLimits.headerLength, "a frame has a header")
        let length = frame.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        precondition(length == frame.count - WireLimits.headerLength, "the header names the body's length")
        let message = try! MessageCodec.decode(body: frame.dropFirst(WireLimits.headerLength))
        sent.append(message)
        onSend?(message)
        return true
    }

    var hasUnreadInput: Bool { pretendsUnreadInput }

    var frameCounts: (received: Int, sent: Int) { (received, sent.count) }

    func setOutputPaused(_ paused: Bool) { outputPaused = paused }

    func kill() {
        guard !killed, !exited else { return }
        killed = true
        loop.execute { [self] in exit(.signaled(SIGKILL, coreDumped: false)) }
    }

    func close() { closed = true }

    // MARK: The worker's side

    /// The worker reports over its bootstrap channel (`nil`: it closed it without a report).
    func bootstrap(_ message: BootstrapMessage?) { delegate?.transportBootstrapped(message) }

    /// The worker sends `message`; returns whether the link keeps reading.
    @discardableResult
    func deliver(_ message: WireMessage) -> Bool {
        deliver(body: MessageCodec.encodeBody(message))
    }

    /// The worker sends raw frame body bytes; returns whether the link keeps reading.
    @discardableResult
    func deliver(body: [UInt8]) -> Bool {
        guard sessionOpen, !sessionEnded, let delegate else { return false }
        received += 1
        let keepReading = delegate.transportReceived(body[...])
        if !keepReading { sessionEnded = true }
        return keepReading
    }

    /// The worker writes to stdout/stderr.
    func print(_ text: String) {
        Array(text.utf8).withUnsafeBytes { delegate?.transportPrinted($0) }
    }

    /// The worker closes its session socket.
    func closeSession() {
        sessionEnded = true
        delegate?.transportSessionEnded(.closed)
    }

    /// The seccomp listener reports a refused call.
    func violate(_ syscall: String) { delegate?.transportSeccompViolation(syscall) }

    /// The process ends (its output already delivered).
    func exit(_ status: TerminationStatus) {
        guard !exited else { return }
        exited = true
        delegate?.transportExited(status)
    }
}

/// What a ``WorkerLink``'s owner heard, for assertions.
final class RecordingOwner: WorkerLinkOwner {
    var becameSpare = 0
    var started: [Ready] = []
    var calls: [GlobalCall] = []
    var cancelled: [UInt64] = []
    var logged: [SessionLogEntry] = []
    var printed: [UInt8] = []
    var ended: [ExitCause] = []

    func workerBecameSpare(_ link: WorkerLink) { becameSpare += 1 }
    func workerStarted(_ link: WorkerLink, ready: Ready) { started.append(ready) }
    func worker(_ link: WorkerLink, called call: GlobalCall) { calls.append(call) }
    func worker(_ link: WorkerLink, cancelled id: UInt64) { cancelled.append(id) }
    func worker(_ link: WorkerLink, logged entry: SessionLogEntry) { logged.append(entry) }
    func worker(_ link: WorkerLink, printed bytes: UnsafeRawBufferPointer) { printed.append(contentsOf: bytes) }
    func workerEnded(_ link: WorkerLink, cause: ExitCause) { ended.append(cause) }
}

/// A ``WorkerLink`` over an ``EmbeddedTransport`` on a real ``EventLoop`` thread (the link's one
/// owner), with helpers that run each step on the loop.
final class EmbeddedLink: @unchecked Sendable {
    // @unchecked: `link`, `transport` and `owner` are touched on `loop` only (through `run`).
    let loop: EventLoop
    let link: WorkerLink
    let transport: EmbeddedTransport
    let owner = RecordingOwner()
    let log = LogCapture()
    static let report = ConfinementReport(layers: [EngagedLayer(name: "seccomp", detail: "embedded")])

    init(assignment: SessionAssignment? = EmbeddedLink.assignment(), limits: WorkerLimits = WorkerLimits(),
         policy: InboundPolicy = InboundPolicy(), permissions: GlobalPermissions = .any) throws {
        let loop = try EventLoop(name: "embedded")
        let transport = EmbeddedTransport(pid: 4242, loop: loop)
        self.loop = loop
        self.transport = transport
        self.link = WorkerLink(loop: loop, transport: transport, profile: SandboxProfile(name: "embedded"), limits: limits,
                               policy: policy, permissions: permissions, cgroup: nil, assignment: assignment,
                               logger: Logger(label: "embedded") { [log] _ in log.handler() })
        link.owner = owner
    }

    static func assignment(_ id: String = "doc-1") -> SessionAssignment {
        SessionAssignment(sessionID: id, settings: try! RawJSON(validating: Array("{}".utf8)), globalPlugins: [])
    }

    /// Runs `body` on the loop and returns its result.
    @discardableResult
    func run<Result: Sendable>(_ body: @escaping @Sendable (WorkerLink, EmbeddedTransport, RecordingOwner) -> Result) async -> Result {
        await loop.submit { [self] in body(link, transport, owner) }
    }

    /// Lets the loop run what it queued (a kill's exit).
    func settle() async {
        _ = await loop.submit { () }
        _ = await loop.submit { () }
    }

    /// Starts the link and plays a worker through bootstrap, hello and (for an assigned worker) ready.
    func handshake(plugins: [String] = ["p"]) async {
        await run { link, transport, _ in
            link.start()
            transport.bootstrap(.confined(EmbeddedLink.report, listener: nil))
            transport.deliver(.hello(Hello(pid: 4242, plugins: plugins, build: "embedded")))
            if case .welcome = transport.sent.last {
                transport.deliver(.ready(Ready(enabledPlugins: plugins, attachedPlugins: plugins)))
            }
        }
    }

    func shutdown() async { await loop.shutdown() }
}

/// A well-behaved worker in memory, for driving the whole engine: it reports its confinement,
/// greets, starts when welcomed, answers pings, emits and requests (echoing the payload), and
/// leaves when disposed. `afterReady` lets a test make it hostile once it serves.
final class ScriptedWorker: @unchecked Sendable {
    // @unchecked: used on its loop only.
    let transport: EmbeddedTransport
    private let loop: EventLoop
    private let plugins: [String]
    private let afterReady: (@Sendable (EmbeddedTransport) -> Void)?
    private(set) var emitsSeen: [String] = []

    init(pid: Int32, loop: EventLoop, plugins: [String] = ["echo"], afterReady: (@Sendable (EmbeddedTransport) -> Void)? = nil) {
        self.transport = EmbeddedTransport(pid: pid, loop: loop)
        self.loop = loop
        self.plugins = plugins
        self.afterReady = afterReady
        transport.onSend = { [unowned self] message in
            // Answer on the next turn, as a process would: never inside the link's own send.
            loop.execute { self.answer(message) }
        }
        transport.onStart = { [unowned self] in
            loop.execute {
                self.transport.bootstrap(.confined(EmbeddedLink.report, listener: nil))
                self.transport.deliver(.hello(Hello(pid: pid, plugins: self.plugins, build: "scripted")))
            }
        }
    }

    private func answer(_ message: WireMessage) {
        guard !transport.exited else { return }
        switch message {
        case .welcome:
            transport.deliver(.ready(Ready(enabledPlugins: plugins, attachedPlugins: plugins)))
            afterReady?(transport)
        case .ping(let ping):
            transport.deliver(.pong(Pong(id: ping.id)))
        case .emit(let emit):
            emitsSeen.append(emit.event)
            transport.deliver(.emitResult(EmitResult(id: emit.id, handled: 1, stopped: false)))
        case .request(let request):
            transport.deliver(.response(Response(id: request.id, payload: request.payload, error: nil)))
        case .dispose:
            transport.deliver(.bye(Bye(reason: "disposed")))
            transport.exit(.exited(0))
        default:
            break
        }
    }
}
