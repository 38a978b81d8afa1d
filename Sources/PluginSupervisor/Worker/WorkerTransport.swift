#if canImport(Glibc)
import Glibc
#endif
import PluginSandbox
import PluginSystem
import SystemPackage

/// What a worker's transport tells its ``WorkerLink``, on the link's loop.
protocol WorkerTransportDelegate: AnyObject {
    /// The one-shot bootstrap channel delivered its report (`nil`: it closed without one).
    func transportBootstrapped(_ message: BootstrapMessage?)
    /// The bootstrap channel carried something that is not a valid report.
    func transportBootstrapInvalid(_ detail: String)
    /// One frame body from the session socket. Return false to stop reading (the link is ending).
    func transportReceived(_ body: ArraySlice<UInt8>) -> Bool
    /// The session socket ended.
    func transportSessionEnded(_ end: ChannelEnd)
    /// The worker's stdout/stderr delivered bytes.
    func transportPrinted(_ chunk: UnsafeRawBufferPointer)
    /// The seccomp listener saw the worker call a refused system call (`name` as the link reports it).
    func transportSeccompViolation(_ name: String)
    /// The process ended and was reaped; its remaining output was delivered first.
    func transportExited(_ status: TerminationStatus)
}

/// Everything between a ``WorkerLink`` and one worker: the bytes and the process.
///
/// The link holds the protocol, the limits and the state machine; the transport moves frames and
/// reports what the process did. ``ProcessTransport`` is a real worker's descriptors on an
/// ``EventLoop``; tests drive a link in memory through their own transport (the way swift-nio-extras
/// tests a decoder through `EmbeddedChannel`).
/// Every method is called on the link's loop.
protocol WorkerTransport: AnyObject {
    /// The worker's pid.
    var pid: Int32 { get }
    /// The sealed plugin libraries the worker loads once confined.
    var libraries: [SealedPluginLibrary] { get }
    /// Starts watching the process, its output and its bootstrap channel.
    func start(delegate: any WorkerTransportDelegate) throws(SystemCallError)
    /// Starts reading the session socket (and the seccomp listener the bootstrap report carried).
    func openSession(maximumFrameLength: Int, maximumQueuedBytes: Int) throws(SystemCallError)
    /// Whether frames can still be sent (the session socket is open and has not ended).
    var canSend: Bool { get }
    /// Queues one encoded frame; false when the session socket has ended.
    @discardableResult func send(_ frame: [UInt8]) -> Bool
    /// The worker sent bytes the link has not read yet (it is behind, not the worker).
    var hasUnreadInput: Bool { get }
    /// Frames received and sent on the session socket.
    var frameCounts: (received: Int, sent: Int) { get }
    /// Stops or resumes reading the output (rate limiting: the pipe fills and the worker waits).
    func setOutputPaused(_ paused: Bool)
    /// Kills the process (SIGKILL); its end arrives as ``WorkerTransportDelegate/transportExited(_:)``.
    func kill()
    /// Kills the process and waits for its end, which is reported before this returns (the loop
    /// is about to stop and would not report it).
    func killAndWait()
    /// Releases everything after the end: descriptors, watches, the process handle.
    func close()
}

extension WorkerTransport {
    /// No plugin libraries.
    var libraries: [SealedPluginLibrary] { [] }

    /// Kills the process; a transport whose end is reported synchronously needs no more.
    func killAndWait() { kill() }
}

// MARK: - A real worker

/// A spawned worker's descriptors on an ``EventLoop``: the pidfd, the output pipe, the one-shot
/// bootstrap channel, then the session socket (a ``FrameChannel``) and the seccomp listener.
/// It owns and closes every one of them.
final class ProcessTransport: WorkerTransport {
    let loop: EventLoop
    private let worker: SpawnedWorker
    private weak var delegate: (any WorkerTransportDelegate)?
    private var channel: FrameChannel?
    private var listener: SeccompListener?
    private var watches: [DescriptorWatch] = []
    private var outputOpen = true
    private var outputPaused = false
    private var bootstrapOpen = true
    private var closed = false

    init(worker: SpawnedWorker, loop: EventLoop) {
        self.worker = worker
        self.loop = loop
    }

    var pid: Int32 { worker.pid }

    var libraries: [SealedPluginLibrary] { worker.libraries }

    func start(delegate: any WorkerTransportDelegate) throws(SystemCallError) {
        loop.assertInEventLoop()
        self.delegate = delegate
        watches = [
            try DescriptorWatch(worker.process.pidfd, transport: self, role: .process),
            try DescriptorWatch(worker.output, transport: self, role: .output),
            try DescriptorWatch(worker.bootstrap, transport: self, role: .bootstrap),
        ]
    }

    func openSession(maximumFrameLength: Int, maximumQueuedBytes: Int) throws(SystemCallError) {
        loop.assertInEventLoop()
        if let listener { watches.append(try DescriptorWatch(listener.descriptor, transport: self, role: .listener)) }
        let channel = try FrameChannel(descriptor: worker.socket, loop: loop, maximumFrameLength: maximumFrameLength,
                                       maximumQueuedBytes: maximumQueuedBytes)
        self.channel = channel
        try channel.start(delegate: self)
    }

    var canSend: Bool { channel.map { !$0.isEnded } ?? false }

    @discardableResult
    func send(_ frame: [UInt8]) -> Bool { channel?.send(frame) ?? false }

    var hasUnreadInput: Bool { channel?.hasUnreadInput ?? false }

    var frameCounts: (received: Int, sent: Int) { (channel?.framesIn ?? 0, channel?.framesOut ?? 0) }

    func setOutputPaused(_ paused: Bool) {
        guard outputOpen, paused != outputPaused, !closed else { return }
        outputPaused = paused
        if paused {
            unwatch(.output)
        } else {
            do {
                watches.append(try DescriptorWatch(worker.output, transport: self, role: .output))
            } catch {
                outputOpen = false
            }
        }
    }

    func kill() {
        try? worker.process.signal(SIGKILL)
    }

    func killAndWait() {
        guard !closed else { return }
        kill()
        // A killed process ends at once; its end is then read like any other.
        _ = try? worker.process.waitForTermination()
        processExited()
    }

    func close() {
        guard !closed else { return }
        closed = true
        if let channel { channel.close() } else { worker.socket.closeAfterUse() }
        for watch in watches { watch.close(on: loop) }
        watches.removeAll()
        closeBootstrap()
        worker.output.closeAfterUse()
        listener?.close()
        worker.process.close()
    }

    // MARK: Readiness

    fileprivate func ready(_ role: DescriptorWatch.Role, _ events: Readiness) {
        switch role {
        case .process: processExited()
        case .output: if !outputPaused { _ = readOutputOnce() }
        case .bootstrap: if bootstrapOpen { readBootstrap() }
        case .listener: readListener(hungUp: !events.isDisjoint(with: [.hangup, .error]))
        }
    }

    private func readBootstrap() {
        let message: BootstrapMessage?
        do {
            guard let received = try BootstrapMessage.receive(from: worker.bootstrap) else { return }
            message = received
        } catch where error.reason == .closedWithoutMessage {
            message = nil
        } catch {
            closeBootstrap()
            delegate?.transportBootstrapInvalid("\(error)")
            return
        }
        closeBootstrap()
        if case .confined(_, let listener?) = message { self.listener = listener }
        delegate?.transportBootstrapped(message)
    }

    /// Reads one notification. A listener that hung up with none pending is unwatched: its filter
    /// has no task left, nothing more can come, and a level-triggered hang-up would otherwise be
    /// reported again at every turn until the worker's end is read (measured: about 470 empty
    /// reads per killed worker, a loop spinning while the worker's teardown needed the CPU).
    private func readListener(hungUp: Bool) {
        guard let listener else { return }
        do {
            guard let notification = try listener.receive() else {
                if hungUp { unwatch(.listener) }
                return
            }
            let name = notification.isNativeArchitecture ? notification.syscall
                : "\(notification.syscall) (\(notification.architecture))"
            delegate?.transportSeccompViolation(name)
        } catch {
            unwatch(.listener)
        }
    }

    /// Reads one chunk of output and hands it to the delegate.
    private func readOutputOnce() -> TransferResult {
        guard outputOpen else { return .endOfStream }
        return loop.withScratch { scratch in
            let buffer = UnsafeMutableRawBufferPointer(rebasing: scratch[..<min(scratch.count, 16 * 1024)])
            let result = worker.output.readNow(into: buffer)
            switch result {
            case .transferred(let count):
                delegate?.transportPrinted(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            case .wouldBlock:
                break
            case .endOfStream, .failed:
                outputOpen = false
                unwatch(.output)
            }
            return result
        }
    }

    private func processExited() {
        guard let status = try? worker.process.reap() else { return }
        // A worker that reported its confinement, said why it cannot start and exited at once:
        // its report, its last frames and what it printed as it died are read before its end.
        if bootstrapOpen { readBootstrap() }
        channel?.ready(.readable)
        while outputOpen, case .transferred = readOutputOnce() {}
        delegate?.transportExited(status)
    }

    /// The bootstrap channel is one-shot: stop watching it and close it.
    private func closeBootstrap() {
        guard bootstrapOpen else { return }
        bootstrapOpen = false
        unwatch(.bootstrap)
        worker.bootstrap.closeAfterUse()
    }

    private func unwatch(_ role: DescriptorWatch.Role) {
        guard let index = watches.firstIndex(where: { $0.role == role }) else { return }
        watches.remove(at: index).close(on: loop)
    }
}

extension ProcessTransport: FrameChannelDelegate {
    func channel(_ channel: FrameChannel, received body: ArraySlice<UInt8>) -> Bool {
        delegate?.transportReceived(body) ?? false
    }

    func channel(_ channel: FrameChannel, ended: ChannelEnd) {
        delegate?.transportSessionEnded(ended)
    }
}

/// One of a transport's descriptors registered with its loop (the session socket is a ``FrameChannel``).
final class DescriptorWatch: ReadinessHandler {
    enum Role { case process, output, bootstrap, listener }

    let role: Role
    let descriptor: FileDescriptor
    private weak var transport: ProcessTransport?
    private var registered = true

    init(_ descriptor: FileDescriptor, transport: ProcessTransport, role: Role) throws(SystemCallError) {
        self.descriptor = descriptor
        self.transport = transport
        self.role = role
        if role == .output || role == .bootstrap { try descriptor.setNonBlocking() }
        try transport.loop.register(descriptor, interest: .readable, handler: self)
    }

    func ready(_ events: Readiness) {
        transport?.ready(role, events)
    }

    /// Stops watching (the owner closes the descriptor it owns).
    func close(on loop: EventLoop) {
        guard registered else { return }
        registered = false
        loop.deregister(descriptor)
    }
}
