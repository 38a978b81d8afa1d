/// A value that may only be used on one ``EventLoop``'s thread, carried through `@Sendable`
/// closures that are known to run there (as swift-nio's `NIOLoopBound`).
///
/// Every access checks that the caller is on the loop (in debug builds), so the compiler's
/// `Sendable` check is replaced by a runtime one instead of by a lock.
struct LoopBound<Value>: @unchecked Sendable {
    // @unchecked: the value is only read or written on `loop`'s thread; `value` asserts it.
    let loop: EventLoop
    private let storage: Value

    /// Wraps `value`; call on the loop.
    init(_ value: Value, loop: EventLoop) {
        loop.assertInEventLoop()
        self.loop = loop
        self.storage = value
    }

    /// The value; call on the loop.
    var value: Value {
        loop.assertInEventLoop()
        return storage
    }
}
