/// What the supervisor does when a session's worker crashes, declared per session like an
/// Erlang/OTP child spec.
///
/// - ``never``: the default. A session is a document; a crash ends it and is reported.
/// - ``onCrash(maxRestarts:within:initialBackoff:maximumBackoff:)``: restart after a crash
///   (``ExitCause/isCrash``), keeping the session id and its settings, at most `maxRestarts`
///   times in any window of `within`; past that the session is given up and reported. Between
///   restarts the delay doubles from `initialBackoff` up to `maximumBackoff`.
public struct RestartPolicy: Sendable, Hashable, Codable, CustomStringConvertible {
    private enum Strategy: String, Codable { case never, onCrash }

    private let strategy: Strategy
    /// Restarts allowed inside ``window`` (the intensity R).
    public let maxRestarts: Int
    /// The sliding window for ``maxRestarts`` (the period T).
    public let window: Duration
    /// The delay before the first restart in a run of crashes.
    public let initialBackoff: Duration
    /// The cap on the delay.
    public let maximumBackoff: Duration

    private init(strategy: Strategy, maxRestarts: Int, window: Duration, initialBackoff: Duration, maximumBackoff: Duration) {
        self.strategy = strategy
        self.maxRestarts = maxRestarts
        self.window = window
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
    }

    /// Never restart (the default).
    public static let never = RestartPolicy(strategy: .never, maxRestarts: 0, window: .zero, initialBackoff: .zero, maximumBackoff: .zero)

    /// Restart after a crash, at most `maxRestarts` times in any `within` window.
    public static func onCrash(
        maxRestarts: Int = 3,
        within: Duration = .seconds(5),
        initialBackoff: Duration = .milliseconds(10),
        maximumBackoff: Duration = .seconds(1)
    ) -> RestartPolicy {
        RestartPolicy(
            strategy: .onCrash,
            maxRestarts: max(0, maxRestarts),
            window: within,
            initialBackoff: initialBackoff,
            maximumBackoff: max(initialBackoff, maximumBackoff)
        )
    }

    /// Whether this policy ever restarts.
    public var restarts: Bool { strategy == .onCrash }

    /// Decides what to do after a worker ended with `cause`.
    ///
    /// A pure function of the policy, the cause, the times of earlier restarts and now, so it is
    /// tested as a table.
    /// - Parameters:
    ///   - cause: why the worker ended.
    ///   - history: when earlier restarts of this session happened (any order).
    ///   - now: the current instant on the same clock as `history`.
    public func decide(cause: ExitCause, history: [ContinuousClock.Instant], now: ContinuousClock.Instant) -> RestartDecision {
        guard strategy == .onCrash, cause.isCrash else { return .end }
        let recent = history.filter { now - $0 < window }
        guard recent.count < maxRestarts else {
            return .giveUp(reason: "\(recent.count) restarts within \(window), the limit is \(maxRestarts)")
        }
        var delay = initialBackoff
        for _ in 0..<recent.count {
            delay = min(delay * 2, maximumBackoff)
        }
        return .restart(after: delay, attempt: recent.count + 1)
    }

    public var description: String {
        switch strategy {
        case .never: return "never"
        case .onCrash: return "on-crash (at most \(maxRestarts) in \(window), backoff \(initialBackoff)…\(maximumBackoff))"
        }
    }

    /// Parses the CLI form: `never`, or `on-crash[:R[/Tseconds]]` such as `on-crash:3/5`.
    public init?(argument: String) {
        if argument == "never" {
            self = .never
            return
        }
        guard argument.hasPrefix("on-crash") else { return nil }
        let rest = argument.dropFirst("on-crash".count)
        if rest.isEmpty {
            self = .onCrash()
            return
        }
        guard rest.first == ":" else { return nil }
        let parts = rest.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard let count = Int(parts[0]), count >= 0 else { return nil }
        var window = Duration.seconds(5)
        if parts.count == 2 {
            guard let seconds = Double(parts[1]), seconds > 0 else { return nil }
            window = .milliseconds(Int64(seconds * 1000))
        } else if parts.count > 2 {
            return nil
        }
        self = .onCrash(maxRestarts: count, within: window)
    }
}

/// The outcome of ``RestartPolicy/decide(cause:history:now:)``.
public enum RestartDecision: Sendable, Equatable {
    /// Do not restart: the ending was not a crash, or the policy never restarts.
    case end
    /// Restart after `after`; this is restart number `attempt` in the current window.
    case restart(after: Duration, attempt: Int)
    /// The restart intensity was exceeded: give the session up.
    case giveUp(reason: String)
}
