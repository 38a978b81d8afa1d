import DequeModule
import Foundation
import Synchronization

/// One line of a session's log: what its plugins logged, what its worker printed, and what the
/// supervisor noted about it, each with the time the supervisor received it.
public struct SessionLogEntry: Sendable, Codable, Equatable {
    /// Where a line came from.
    public enum Source: String, Sendable, Codable {
        /// A plugin's `Logger` (a `log` frame).
        case plugin
        /// The worker's stdout or stderr (`print`, a crash message).
        case output
        /// The supervisor (the worker started, ended, restarted).
        case supervisor
    }

    /// When the supervisor received it (wall clock, for people).
    public var time: Date
    /// Where it came from.
    public var source: Source
    /// The log level (`info`, `warning`, ...); `output` lines have none.
    public var level: String?
    /// The text, one line, control characters escaped.
    public var text: String
    /// Plugin metadata (keys as the plugin gave them; never the supervisor's own).
    public var metadata: [String: String]

    /// Creates an entry.
    public init(time: Date, source: Source, level: String? = nil, text: String, metadata: [String: String] = [:]) {
        self.time = time
        self.source = source
        self.level = level
        self.text = text
        self.metadata = metadata
    }
}

/// The bounded log of one session, across its workers (restarts keep appending), with live
/// followers for `sandboxctl logs -f`.
///
/// Its memory is bounded by ``capacity`` bytes of text and taken only when something is logged,
/// so ten thousand quiet sessions cost nothing here. The worker's output pipe is split into
/// lines as it arrives; a line longer than ``maximumLineLength`` is cut and continued.
public final class SessionLog: Sendable {
    private struct State {
        var entries = Deque<SessionLogEntry>()
        var bytes = 0
        var dropped = 0
        var partialOutput: [UInt8] = []
        var followers: [Int: AsyncStream<SessionLogEntry>.Continuation] = [:]
        var nextFollower = 0
        var finished = false
    }

    /// The most bytes of text kept; older lines are dropped first.
    public let capacity: Int
    /// The longest line kept whole.
    public static let maximumLineLength = 4096
    private let state = Mutex(State())

    /// An empty log keeping at most `capacity` bytes of text.
    public init(capacity: Int = 32 * 1024) {
        self.capacity = max(1024, capacity)
    }

    /// Appends bytes from the worker's output pipe, completing lines as they arrive.
    func appendOutput(_ bytes: UnsafeRawBufferPointer, at time: Date = Date()) {
        var lines: [String] = []
        state.withLock { state in
            for byte in bytes {
                if byte == UInt8(ascii: "\n") {
                    lines.append(LogText.escaped(state.partialOutput))
                    state.partialOutput.removeAll(keepingCapacity: true)
                } else {
                    state.partialOutput.append(byte)
                    if state.partialOutput.count >= Self.maximumLineLength {
                        lines.append(LogText.escaped(state.partialOutput) + "…")
                        state.partialOutput.removeAll(keepingCapacity: true)
                    }
                }
            }
        }
        for line in lines { append(SessionLogEntry(time: time, source: .output, text: line)) }
    }

    /// Ends a partial output line (the worker ended without a final newline).
    func flushOutput(at time: Date = Date()) {
        let partial = state.withLock { state -> [UInt8] in
            defer { state.partialOutput = [] }
            return state.partialOutput
        }
        if !partial.isEmpty { append(SessionLogEntry(time: time, source: .output, text: LogText.escaped(partial))) }
    }

    /// Appends an entry and hands it to the followers.
    func append(_ entry: SessionLogEntry) {
        let followers = state.withLock { state -> [AsyncStream<SessionLogEntry>.Continuation] in
            state.entries.append(entry)
            state.bytes += entry.text.utf8.count
            while state.bytes > capacity, let first = state.entries.popFirst() {
                state.bytes -= first.text.utf8.count
                state.dropped += 1
            }
            return Array(state.followers.values)
        }
        for follower in followers { follower.yield(entry) }
    }

    /// The entries kept, oldest first.
    public var entries: [SessionLogEntry] { state.withLock { Array($0.entries) } }

    /// How many entries fell out of the log.
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// The last `count` output lines (the worker's last words before a crash).
    func lastOutputLines(_ count: Int) -> [String] {
        state.withLock { state in
            var lines = state.partialOutput.isEmpty ? [] : [LogText.escaped(state.partialOutput)]
            for entry in state.entries.reversed() where entry.source == .output {
                if lines.count >= count { break }
                lines.append(entry.text)
            }
            return lines.reversed()
        }
    }

    /// Entries from now on; the stream finishes when the session ends.
    public func follow() -> AsyncStream<SessionLogEntry> {
        let (stream, continuation) = AsyncStream<SessionLogEntry>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let key = state.withLock { state -> Int? in
            guard !state.finished else { return nil }
            state.nextFollower += 1
            state.followers[state.nextFollower] = continuation
            return state.nextFollower
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.followers.removeValue(forKey: key) }
        }
        return stream
    }

    /// Ends every follower's stream (the session ended).
    func finish() {
        flushOutput()
        let followers = state.withLock { state -> [AsyncStream<SessionLogEntry>.Continuation] in
            state.finished = true
            defer { state.followers.removeAll() }
            return Array(state.followers.values)
        }
        for follower in followers { follower.finish() }
    }
}

/// Text from a worker made safe for a log: one line, control characters escaped, bounded.
enum LogText {
    /// Decodes `bytes` as UTF-8 (invalid sequences replaced) and escapes it.
    static func escaped(_ bytes: some Collection<UInt8>, limit: Int = SessionLog.maximumLineLength) -> String {
        // The common case, plain printable ASCII within the limit, needs no work per character.
        if bytes.count <= limit, bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return escaped(String(decoding: bytes, as: UTF8.self), limit: limit)
    }

    /// Escapes control characters (newlines included, so a worker can never write a line of
    /// its own into the supervisor's log) and cuts the text at `limit` bytes.
    static func escaped(_ text: String, limit: Int = SessionLog.maximumLineLength) -> String {
        var result = ""
        result.reserveCapacity(min(text.utf8.count, limit) + 8)
        var bytes = 0
        for scalar in text.unicodeScalars {
            let piece: String
            switch scalar.value {
            case 0x0A: piece = "\\n"
            case 0x0D: piece = "\\r"
            case 0x09: piece = "\\t"
            case 0x5C: piece = "\\\\"
            case 0x00..<0x20, 0x7F..<0xA0, 0x2028, 0x2029:
                piece = "\\u{" + String(scalar.value, radix: 16) + "}"
            default: piece = String(scalar)
            }
            bytes += piece.utf8.count
            if bytes > limit {
                result += "…(cut)"
                break
            }
            result += piece
        }
        return result
    }
}
