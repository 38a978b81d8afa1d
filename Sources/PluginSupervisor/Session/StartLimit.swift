import DequeModule

/// How fast sessions may start while workers keep crashing: a brake on crash loops for the whole
/// supervisor, after systemd's `StartLimitBurst=` and Erlang/OTP's restart intensity.
///
/// Every worker that a hostile plugin gets ended at once (a protocol breach, a memory burst)
/// costs the machine a whole process lifecycle: the fork, the confinement, the teardown of its
/// memory. A host that starts a new session whenever one ends (one per request, per upload, per
/// document) would let such a plugin churn workers as fast as the machine forks, and every other
/// session's work would wait behind that kernel work. On this project's 2-CPU machine, with 18-100
/// hostile starts a second, a bystander's p99 round trip rose 5-20×; spaced 200 ms apart (the
/// default), it was 0.7-2.8× in 43 of 46 runs of those rows and at most 4.1× (`Benchmarks/run
/// --only attack`).
///
/// Once ``crashes`` workers crashed (``ExitCause/isCrash``) within ``window``, the limit is
/// *engaged*: starts (new sessions and restarts) are spaced at least ``interval`` apart, in the
/// order they asked. It is released once a whole ``window`` passed without a crash. Ends that are
/// not crashes (dispose, an operator's kill, shutdown) never count, so a host that opens and
/// closes sessions quickly is never slowed.
///
/// A start whose turn is further away than ``maximumWait`` fails at once with
/// ``SessionError/Code/startLimited``, naming the limit; nothing is spawned for it.
///
/// ```swift
/// var configuration = SandboxConfiguration()
/// configuration.startLimit = StartLimit(crashes: 20, within: .seconds(10), interval: .milliseconds(50))
/// ```
public struct StartLimit: Sendable, Hashable, CustomStringConvertible {
    /// Crashes within ``window`` that engage the limit.
    public var crashes: Int
    /// The sliding window the crashes are counted in; also how long without a crash releases it.
    public var window: Duration
    /// The least time between two starts while the limit is engaged.
    public var interval: Duration
    /// The longest a start waits for its turn; past it the start is refused.
    public var maximumWait: Duration

    /// Creates a limit. The defaults engage after 10 crashes within 5 seconds and then allow five
    /// starts a second, each waiting at most 10 seconds. A host on a machine with many CPUs that
    /// must start sessions faster while crashes go on can shorten `interval`.
    public init(crashes: Int = 10, within window: Duration = .seconds(5), interval: Duration = .milliseconds(200),
                maximumWait: Duration = .seconds(10)) {
        self.crashes = max(1, crashes)
        self.window = max(window, .zero)
        self.interval = max(interval, .zero)
        self.maximumWait = max(maximumWait, .zero)
    }

    public var description: String {
        "after \(crashes) crashes within \(window.formattedMilliseconds): one start every \(interval.formattedMilliseconds), waiting at most \(maximumWait.formattedMilliseconds)"
    }

    /// Parses the CLI form `CRASHES/SECONDS[:INTERVAL_MS]`, such as `10/5:100` (10 crashes within
    /// 5 seconds engage it; then one start every 100 ms).
    public init?(argument: String) {
        let halves = argument.split(separator: ":", omittingEmptySubsequences: false)
        let counts = halves[0].split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count <= 2, counts.count == 2, let crashes = Int(counts[0]), crashes > 0,
              let seconds = Double(counts[1]), seconds > 0, seconds <= 86_400 else { return nil }
        self.init(crashes: crashes, within: .milliseconds(Int64(seconds * 1000)))
        if halves.count == 2 {
            guard let milliseconds = Int64(halves[1]), milliseconds > 0, milliseconds <= 86_400_000 else { return nil }
            interval = .milliseconds(milliseconds)
        }
    }

    /// The CLI form of this limit, such as `10/5:200` (``init(argument:)`` reads it back; the
    /// maximum wait is not part of it).
    public var argument: String {
        let milliseconds = window.totalMilliseconds
        let seconds = milliseconds % 1000 == 0 ? "\(milliseconds / 1000)" : "\(Double(milliseconds) / 1000)"
        return "\(crashes)/\(seconds):\(interval.totalMilliseconds)"
    }

    /// What the limit has done so far.
    public struct Status: Sendable, Equatable, Codable {
        /// Whether starts are being spaced now.
        public var engaged: Bool
        /// Worker crashes within the last window.
        public var recentCrashes: Int
        /// Starts that waited for their turn.
        public var delayedStarts: Int
        /// Starts refused because their turn was too far away.
        public var refusedStarts: Int
        /// How many times the limit was engaged.
        public var engagements: Int
    }
}

/// ``StartLimit`` as a value: crashes and starts go in with the time, the admission comes out.
/// A pure function of its inputs, so it is tested as a table.
struct StartGate: Sendable {
    let limit: StartLimit
    private var crashTimes = Deque<ContinuousClock.Instant>()
    private var engaged = false
    private var lastStart: ContinuousClock.Instant?
    private var delayed = 0
    private var refused = 0
    private var engagements = 0

    init(limit: StartLimit) {
        self.limit = limit
    }

    /// What a start may do.
    enum Admission: Equatable {
        /// Start now.
        case now
        /// Start at this instant (the limit is engaged and this is its turn).
        case at(ContinuousClock.Instant)
        /// Do not start: the turn is too far away (the sentence says so).
        case refused(String)
    }

    /// A worker crashed at `now`.
    /// - Returns: whether this crash engaged the limit.
    mutating func crashed(at now: ContinuousClock.Instant) -> Bool {
        crashTimes.append(now)
        return update(now)
    }

    /// A start asks for its turn at `now`; an admitted start is counted as started at its turn.
    mutating func admit(at now: ContinuousClock.Instant) -> Admission {
        _ = update(now)
        guard engaged else {
            lastStart = now
            return .now
        }
        let turn = lastStart.map { max(now, $0 + limit.interval) } ?? now
        guard turn - now <= limit.maximumWait else {
            refused += 1
            let crashes = crashTimes.count == 1 ? "1 worker" : "\(crashTimes.count) workers"
            return .refused("the start limit is engaged (\(crashes) crashed within \(limit.window.formattedMilliseconds); one start every \(limit.interval.formattedMilliseconds)) and this start's turn is \((turn - now).formattedMilliseconds) away, past the \(limit.maximumWait.formattedMilliseconds) a start may wait")
        }
        lastStart = turn
        guard turn > now else { return .now }
        delayed += 1
        return .at(turn)
    }

    func status(at now: ContinuousClock.Instant) -> StartLimit.Status {
        var copy = self
        _ = copy.update(now)
        return StartLimit.Status(engaged: copy.engaged, recentCrashes: copy.crashTimes.count, delayedStarts: delayed,
                                 refusedStarts: refused, engagements: engagements)
    }

    /// Forgets crashes older than the window; engages at the threshold and releases after a
    /// whole window without a crash. Returns whether the limit became engaged.
    private mutating func update(_ now: ContinuousClock.Instant) -> Bool {
        while let first = crashTimes.first, now - first >= limit.window { crashTimes.removeFirst() }
        if !engaged, crashTimes.count >= limit.crashes {
            engaged = true
            engagements += 1
            return true
        }
        if engaged, crashTimes.isEmpty { engaged = false }
        return false
    }
}
