import Synchronization

/// The captured stdout and stderr of one session's workers, kept in a bounded ring.
///
/// A plugin's `print` goes to a pipe, never to the protocol socket. The supervisor keeps the
/// newest `capacity` bytes, counts what it dropped, and feeds live followers (`logs -f`).
public final class OutputCapture: Sendable {
    private struct State {
        var ring: [UInt8] = []
        var start = 0
        var dropped = 0
        var total = 0
        var followers: [Int: AsyncStream<[UInt8]>.Continuation] = [:]
        var nextFollower = 0
    }

    /// The most bytes kept.
    public let capacity: Int
    private let state = Mutex(State())

    /// Creates an empty capture keeping at most `capacity` bytes.
    public init(capacity: Int = 64 * 1024) {
        self.capacity = max(1, capacity)
    }

    /// Appends bytes read from the worker's output pipe.
    public func append(_ bytes: some Collection<UInt8>) {
        let followers = state.withLock { state -> [AsyncStream<[UInt8]>.Continuation] in
            state.total += bytes.count
            state.ring.append(contentsOf: bytes)
            let excess = state.ring.count - state.start - capacity
            if excess > 0 {
                state.start += excess
                state.dropped += excess
            }
            if state.start > capacity {
                state.ring.removeSubrange(0..<state.start)
                state.start = 0
            }
            return Array(state.followers.values)
        }
        if !followers.isEmpty {
            let chunk = Array(bytes)
            for follower in followers { follower.yield(chunk) }
        }
    }

    /// The bytes kept, oldest first.
    public var contents: [UInt8] {
        state.withLock { Array($0.ring[$0.start...]) }
    }

    /// The kept output as text (invalid UTF-8 repaired).
    public var text: String {
        String(decoding: contents, as: UTF8.self)
    }

    /// How many bytes were captured in all, and how many of them fell out of the ring.
    public var counts: (total: Int, dropped: Int) {
        state.withLock { ($0.total, $0.dropped) }
    }

    /// A stream of output chunks from now on; it finishes when ``finish()`` is called.
    public func follow() -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingNewest(256))
        let key = state.withLock { state -> Int in
            state.nextFollower += 1
            state.followers[state.nextFollower] = continuation
            return state.nextFollower
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.followers.removeValue(forKey: key) }
        }
        return stream
    }

    /// Ends every follower's stream (the session ended).
    public func finish() {
        let followers = state.withLock { state -> [AsyncStream<[UInt8]>.Continuation] in
            defer { state.followers.removeAll() }
            return Array(state.followers.values)
        }
        for follower in followers { follower.finish() }
    }
}
