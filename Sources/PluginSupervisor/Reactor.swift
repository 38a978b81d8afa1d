#if canImport(Glibc)
import Glibc
#endif
import CSupervisorShims
import Foundation
import Synchronization

/// Readiness events the ``Reactor`` reports to a registration.
struct ReadinessEvents: OptionSet, Sendable {
    let rawValue: UInt32
    // The EPOLL* constants are macros over an enum that Swift does not import; values from <sys/epoll.h>.
    static let readable = ReadinessEvents(rawValue: 0x001)
    static let writable = ReadinessEvents(rawValue: 0x004)
    static let error = ReadinessEvents(rawValue: 0x008)
    static let hangup = ReadinessEvents(rawValue: 0x010)
}

/// A single thread running `epoll_wait` over every descriptor the supervisor watches: worker
/// sockets, pidfds, output and report pipes, the control socket.
///
/// Handlers run on the reactor thread and must not block; they hand work to tasks when it is
/// more than bookkeeping. Each registration carries a token, so an event that was already queued
/// for a descriptor deregistered (and perhaps reused) meanwhile is dropped, never misdelivered.
final class Reactor: Sendable {
    typealias Handler = @Sendable (ReadinessEvents) -> Void

    private struct Registration {
        let descriptor: Int32
        var interest: ReadinessEvents
        let handler: Handler
    }

    private struct State {
        var registrations: [UInt64: Registration] = [:]
        var tokens: [Int32: UInt64] = [:]
        var nextToken: UInt64 = 1
        var running = true
        var queued: [@Sendable () -> Void] = []
    }

    private let epoll: Int32
    private let wake: Int32
    private let state = Mutex(State())

    /// Starts the reactor thread.
    init(name: String = "plugin-supervisor-reactor") throws(SystemCallError) {
        let epoll = try systemCall("epoll_create1") { ps_epoll_create() }
        let wake: Int32
        do {
            wake = try systemCall("eventfd") { ps_eventfd() }
        } catch {
            close(epoll)
            throw error
        }
        self.epoll = epoll
        self.wake = wake
        _ = ps_epoll_add(epoll, wake, ReadinessEvents.readable.rawValue, 0)
        let thread = Thread { [self] in self.run() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Watches `descriptor` for `interest`, calling `handler` on the reactor thread.
    func register(
        _ descriptor: Int32,
        interest: ReadinessEvents,
        handler: @escaping Handler
    ) throws(SystemCallError) {
        let token = state.withLock { state -> UInt64 in
            let token = state.nextToken
            state.nextToken += 1
            state.registrations[token] = Registration(descriptor: descriptor, interest: interest, handler: handler)
            state.tokens[descriptor] = token
            return token
        }
        do {
            _ = try systemCall("epoll_ctl(ADD)") { ps_epoll_add(epoll, descriptor, interest.rawValue, token) }
        } catch {
            state.withLock { state in
                state.registrations[token] = nil
                state.tokens[descriptor] = nil
            }
            throw error
        }
    }

    /// Changes what `descriptor` is watched for.
    func modify(_ descriptor: Int32, interest: ReadinessEvents) {
        guard let token = state.withLock({ state -> UInt64? in
            guard let token = state.tokens[descriptor] else { return nil }
            state.registrations[token]?.interest = interest
            return token
        }) else { return }
        _ = ps_epoll_modify(epoll, descriptor, interest.rawValue, token)
    }

    /// Stops watching `descriptor`. Call before closing it.
    func deregister(_ descriptor: Int32) {
        let known = state.withLock { state -> Bool in
            guard let token = state.tokens.removeValue(forKey: descriptor) else { return false }
            state.registrations[token] = nil
            return true
        }
        if known { _ = ps_epoll_remove(epoll, descriptor) }
    }

    /// Runs `work` on the reactor thread, after the handlers of the current wake-up.
    ///
    /// Closing a descriptor goes through here, so no handler can be reading it meanwhile.
    func execute(_ work: @escaping @Sendable () -> Void) {
        state.withLock { $0.queued.append(work) }
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    /// Stops the thread after its current wait.
    func shutdown() {
        state.withLock { $0.running = false }
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    private func run() {
        let capacity = 256
        let tokens = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        let masks = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        defer {
            tokens.deallocate()
            masks.deallocate()
            close(wake)
            close(epoll)
        }
        while state.withLock({ $0.running }) {
            let count = ps_epoll_wait(epoll, tokens, masks, Int32(capacity), -1)
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            for index in 0..<Int(count) {
                let token = tokens[index]
                if token == 0 {
                    var drained: UInt64 = 0
                    _ = read(wake, &drained, 8)
                    continue
                }
                let handler = state.withLock { $0.registrations[token]?.handler }
                handler?(ReadinessEvents(rawValue: masks[index]))
            }
            let work = state.withLock { state -> [@Sendable () -> Void] in
                defer { state.queued.removeAll() }
                return state.queued
            }
            for item in work { item() }
        }
    }
}
