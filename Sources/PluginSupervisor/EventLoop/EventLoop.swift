#if canImport(Glibc)
import Glibc
#endif
import CDescriptorCalls
import HeapModule
import PluginSystem
import Synchronization
import SystemPackage

/// Something registered with an ``EventLoop`` that is told when its descriptor is ready.
///
/// Called only on the loop's thread. A handler does a bounded amount of work per call (a read
/// budget, not "until drained") and returns: level-triggered readiness brings it back on the
/// next turn, after every other ready descriptor had its turn. That is what keeps one busy peer
/// from owning the loop.
protocol ReadinessHandler: AnyObject {
    /// `events` is what is ready (error and hang-up are always reported).
    func ready(_ events: Readiness)
}

/// One thread running `epoll_wait` over the descriptors registered with it, the work submitted
/// to it from other threads, and its timers.
///
/// Everything that belongs to one worker lives on one loop and is only touched there
/// (``LoopBound``), so it needs no lock. Other threads reach it with ``execute(_:)`` or
/// ``submit(_:)``. Each turn: the ready descriptors (one bounded handler call each), then the
/// submitted work queued before the turn began, then the timers that are due.
final class EventLoop: @unchecked Sendable {
    // @unchecked: `owned` is touched only on the loop thread (checked by `assertInEventLoop`);
    // cross-thread state is `inbox` (a Mutex) and the immutable descriptors.

    typealias Work = @Sendable () -> Void

    private struct Inbox {
        var work: [Work] = []
        /// The loop is about to wait or waiting: a producer must signal the eventfd.
        var sleeping = false
        var running = true
    }

    private struct Registration {
        let descriptor: FileDescriptor
        var interest: Readiness
        let handler: any ReadinessHandler
    }

    private struct Timer: Comparable {
        let deadline: ContinuousClock.Instant
        let id: UInt64
        static func < (lhs: Timer, rhs: Timer) -> Bool {
            lhs.deadline == rhs.deadline ? lhs.id < rhs.id : lhs.deadline < rhs.deadline
        }
        static func == (lhs: Timer, rhs: Timer) -> Bool { lhs.id == rhs.id }
    }

    private struct Owned {
        var registrations: [UInt64: Registration] = [:]
        var tokens: [Int32: UInt64] = [:]
        var nextToken: UInt64 = 1
        var timers = Heap<Timer>()
        var timerActions: [UInt64: () -> Void] = [:]
        var nextTimer: UInt64 = 1
        /// When the current turn started, and how late its timers fired: the loop's own lag.
        var turnStarted = ContinuousClock.now
        var lastLag: Duration = .zero
        /// Turns taken since the loop started: a loop that keeps waking with nothing to do shows here.
        var turns: UInt64 = 0
        /// One read buffer shared by every channel of this loop (they are served one at a time).
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: EventLoop.scratchSize, alignment: 16)
    }

    /// The size of the loop's shared read buffer: the most one channel reads per turn.
    static let scratchSize = 64 * 1024

    /// The loop's name (its thread's name).
    let name: String
    private let epoll: Epoll
    private let wake: EventSignal
    private let inbox = Mutex(Inbox())
    private var owned = Owned()
    private let thread = Mutex<pthread_t?>(nil)
    private let finished = Mutex<[CheckedContinuation<Void, Never>]?>([])

    /// Starts the loop's thread.
    init(name: String) throws(SystemCallError) {
        self.name = name
        self.epoll = try Epoll()
        self.wake = try EventSignal()
        try epoll.add(wake.descriptor, for: .readable, token: 0)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 1 << 20)
        let box = Unmanaged.passRetained(self)
        var handle = pthread_t()
        let result = pthread_create(&handle, &attributes, { argument in
            let loop = Unmanaged<EventLoop>.fromOpaque(argument!).takeRetainedValue()
            loop.run()
            return nil
        }, box.toOpaque())
        pthread_attr_destroy(&attributes)
        guard result == 0 else {
            box.release()
            throw SystemCallError(function: "pthread_create", errno: Errno(rawValue: result))
        }
        thread.withLock { $0 = handle }
        pthread_detach(handle)
    }

    /// Whether the caller runs on this loop's thread.
    var inEventLoop: Bool {
        guard let handle = thread.withLock({ $0 }) else { return false }
        return pthread_equal(handle, pthread_self()) != 0
    }

    /// Traps in debug builds when called off the loop's thread.
    func assertInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(inEventLoop, "called off the event loop \(name)", file: file, line: line)
    }

    // MARK: Work from other threads

    /// Runs `work` on the loop's thread after the current turn's ready descriptors.
    func execute(_ work: @escaping Work) {
        let signal = inbox.withLock { inbox -> Bool in
            inbox.work.append(work)
            if inbox.sleeping {
                inbox.sleeping = false
                return true
            }
            return false
        }
        if signal { wake.signal() }
    }

    /// Runs `body` on the loop's thread and returns its result.
    func submit<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
        if inEventLoop { return body() }
        return await withCheckedContinuation { continuation in
            execute { continuation.resume(returning: body()) }
        }
    }

    /// Stops the loop after its current turn; descriptors still registered are left to their owners.
    func shutdown() async {
        inbox.withLock { $0.running = false }
        wake.signal()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = finished.withLock { waiters -> Bool in
                guard waiters != nil else { return true }
                waiters!.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    // MARK: Descriptors (loop thread only)

    /// Watches `descriptor` for `interest`, reporting to `handler` (held strongly until removed).
    func register(_ descriptor: FileDescriptor, interest: Readiness, handler: any ReadinessHandler) throws(SystemCallError) {
        assertInEventLoop()
        let token = owned.nextToken
        owned.nextToken += 1
        try epoll.add(descriptor, for: interest, token: token)
        owned.registrations[token] = Registration(descriptor: descriptor, interest: interest, handler: handler)
        owned.tokens[descriptor.rawValue] = token
    }

    /// Changes what `descriptor` is watched for (no-op when unchanged or not registered).
    func setInterest(_ descriptor: FileDescriptor, _ interest: Readiness) {
        assertInEventLoop()
        guard let token = owned.tokens[descriptor.rawValue], var registration = owned.registrations[token],
              registration.interest != interest else { return }
        registration.interest = interest
        owned.registrations[token] = registration
        try? epoll.modify(descriptor, for: interest, token: token)
    }

    /// Stops watching `descriptor`; call before closing it. Events already collected for it in
    /// this turn are dropped (its token is gone), never delivered to a reused descriptor.
    func deregister(_ descriptor: FileDescriptor) {
        assertInEventLoop()
        guard let token = owned.tokens.removeValue(forKey: descriptor.rawValue) else { return }
        owned.registrations[token] = nil
        try? epoll.remove(descriptor)
    }

    // MARK: Timers (loop thread only)

    /// A scheduled timer, cancellable with ``cancelTimer(_:)``.
    struct TimerID: Hashable, Sendable { fileprivate let value: UInt64 }

    /// Runs `action` on the loop once `deadline` has passed.
    @discardableResult
    func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping () -> Void) -> TimerID {
        assertInEventLoop()
        let id = owned.nextTimer
        owned.nextTimer += 1
        owned.timers.insert(Timer(deadline: deadline, id: id))
        owned.timerActions[id] = action
        return TimerID(value: id)
    }

    /// Cancels a timer that has not fired.
    func cancelTimer(_ timer: TimerID) {
        assertInEventLoop()
        owned.timerActions[timer.value] = nil
    }

    /// Lends the loop's read buffer (loop thread only; do not keep it past the call).
    func withScratch<Result>(_ body: (UnsafeMutableRawBufferPointer) throws -> Result) rethrows -> Result {
        assertInEventLoop()
        return try body(owned.scratch)
    }

    /// How late this loop's last due timer fired: a measure of the supervisor's own lag, so silence
    /// is not blamed on a worker when it was the loop that did not look.
    var lag: Duration {
        assertInEventLoop()
        return owned.lastLag
    }

    /// Turns the loop has taken (one per return from `epoll_wait`).
    var turns: UInt64 {
        assertInEventLoop()
        return owned.turns
    }

    // MARK: The thread

    private func run() {
        thread.withLock { $0 = pthread_self() }
        let capacity = 256
        let events = UnsafeMutableBufferPointer<psd_ready_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while true {
            let timeout = prepareToWait()
            guard let timeout else { break }
            let count = (try? epoll.wait(into: events, timeoutMilliseconds: timeout)) ?? 0
            inbox.withLock { $0.sleeping = false }
            owned.turnStarted = .now
            owned.turns &+= 1
            for index in 0..<count {
                let event = events[index]
                if event.token == 0 {
                    wake.drain()
                    continue
                }
                // A handler earlier in this turn may have removed this registration.
                guard let registration = owned.registrations[event.token] else { continue }
                registration.handler.ready(Readiness(rawValue: event.events))
            }
            let work = inbox.withLock { inbox -> [Work] in
                defer { inbox.work.removeAll(keepingCapacity: true) }
                return inbox.work
            }
            for item in work { item() }
            fireDueTimers()
        }
        // Nothing is served any more: drop the handlers and timers, which may hold this loop's
        // owner (a cycle that would keep the owner, this loop and their descriptors alive).
        owned.registrations.removeAll()
        owned.tokens.removeAll()
        owned.timerActions.removeAll()
        owned.timers = Heap()
        let waiters = finished.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            defer { waiters = nil }
            return waiters ?? []
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Marks the loop as sleeping unless work is queued; returns the wait's timeout in
    /// milliseconds (0: do not wait), or nil when the loop must stop.
    private func prepareToWait() -> Int32? {
        let nextDeadline = nextTimerDeadline()
        return inbox.withLock { inbox -> Int32? in
            guard inbox.running else { return nil }
            if !inbox.work.isEmpty { return 0 }
            inbox.sleeping = true
            guard let nextDeadline else { return -1 }
            let remaining = ContinuousClock.now.duration(to: nextDeadline)
            if remaining <= .zero { return 0 }
            let (seconds, attoseconds) = remaining.components
            // Round up, so a timer never fires a turn early.
            let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
            return Int32(clamping: milliseconds)
        }
    }

    private func nextTimerDeadline() -> ContinuousClock.Instant? {
        while let first = owned.timers.min, owned.timerActions[first.id] == nil {
            _ = owned.timers.popMin()
        }
        return owned.timers.min?.deadline
    }

    private func fireDueTimers() {
        let now = ContinuousClock.now
        while let first = owned.timers.min, first.deadline <= now {
            _ = owned.timers.popMin()
            guard let action = owned.timerActions.removeValue(forKey: first.id) else { continue }
            owned.lastLag = first.deadline.duration(to: now)
            action()
        }
    }
}
