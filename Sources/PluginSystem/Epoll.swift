import CDescriptorCalls
import SystemPackage

/// What a descriptor is watched for, or reported ready for.
package struct Readiness: OptionSet, Sendable, Hashable {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Data (or an end of stream) can be read.
    package static let readable = Readiness(rawValue: PS_EVENT_READABLE)
    /// A write would not block.
    package static let writable = Readiness(rawValue: PS_EVENT_WRITABLE)
    /// An error is pending (always reported).
    package static let error = Readiness(rawValue: PS_EVENT_ERROR)
    /// The peer hung up (always reported).
    package static let hangup = Readiness(rawValue: PS_EVENT_HANGUP)
}

/// One `epoll` instance, level-triggered, with a caller-chosen 64-bit token per registration.
///
/// Not thread-safe by itself: its owner (one event loop thread) is the only caller, except for
/// ``EventSignal``, whose descriptor is registered here like any other.
package struct Epoll: ~Copyable {
    /// The epoll descriptor.
    package let descriptor: FileDescriptor

    /// Creates the instance (close-on-exec).
    package init() throws(SystemCallError) {
        descriptor = FileDescriptor(rawValue: try systemCall("epoll_create1") { psd_epoll_create() })
    }

    deinit { descriptor.closeAfterUse() }

    /// Starts watching `fd`.
    package func add(_ fd: FileDescriptor, for interest: Readiness, token: UInt64) throws(SystemCallError) {
        _ = try systemCall("epoll_ctl(ADD)") { psd_epoll_add(descriptor.rawValue, fd.rawValue, interest.rawValue, token) }
    }

    /// Changes what `fd` is watched for.
    package func modify(_ fd: FileDescriptor, for interest: Readiness, token: UInt64) throws(SystemCallError) {
        _ = try systemCall("epoll_ctl(MOD)") { psd_epoll_modify(descriptor.rawValue, fd.rawValue, interest.rawValue, token) }
    }

    /// Stops watching `fd` (call before closing it).
    package func remove(_ fd: FileDescriptor) throws(SystemCallError) {
        _ = try systemCall("epoll_ctl(DEL)") { psd_epoll_remove(descriptor.rawValue, fd.rawValue) }
    }

    /// Waits up to `timeoutMilliseconds` (negative: forever) and fills `events`; returns how many
    /// are ready (0 on timeout or interruption).
    package func wait(into events: UnsafeMutableBufferPointer<psd_ready_event>, timeoutMilliseconds: Int32) throws(SystemCallError) -> Int {
        let result = psd_epoll_wait(descriptor.rawValue, events.baseAddress, Int32(events.count), timeoutMilliseconds)
        if result >= 0 { return Int(result) }
        let code = Errno(rawValue: -result)
        if code == .interrupted { return 0 }
        throw SystemCallError(function: "epoll_wait", errno: code)
    }
}

/// An `eventfd` used to wake a thread blocked in ``Epoll/wait(into:timeoutMilliseconds:)``.
package struct EventSignal: ~Copyable {
    /// The eventfd (non-blocking, close-on-exec).
    package let descriptor: FileDescriptor

    /// Creates the eventfd.
    package init() throws(SystemCallError) {
        descriptor = FileDescriptor(rawValue: try systemCall("eventfd") { psd_eventfd() })
    }

    deinit { descriptor.closeAfterUse() }

    /// Wakes the waiter (safe from any thread).
    package func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { descriptor.sendNowOrWrite($0) }
    }

    /// Consumes pending wake-ups.
    package func drain() {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { descriptor.readNow(into: $0) }
    }
}

extension FileDescriptor {
    /// `write` without throwing (an eventfd is not a socket, so `send` does not apply).
    package func sendNowOrWrite(_ bytes: UnsafeRawBufferPointer) -> TransferResult {
        do {
            return .transferred(try write(bytes))
        } catch {
            return .failed(error as? Errno ?? .ioError)
        }
    }
}
