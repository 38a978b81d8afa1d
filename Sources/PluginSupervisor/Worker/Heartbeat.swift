import PluginWire

/// Heartbeats with one worker, as a value: when to ping, whether a pong is genuine, and whether
/// the worker is hung.
///
/// A pong must answer the one ping outstanding; anything else is a lie and a breach. Silence is
/// blamed on the worker only when the supervisor was looking: not while the worker's bytes sit
/// unread, and not while the supervisor's own loop runs late (the owner passes `excused`).
struct Heartbeat: Sendable {
    private var outstanding: (id: UInt64, sentAt: ContinuousClock.Instant)?
    private var lastAnswer: ContinuousClock.Instant
    private var busy: (handler: BusyHandler, reportedAt: ContinuousClock.Instant)?

    /// Starts counting at `now` (the worker became ready).
    init(now: ContinuousClock.Instant) {
        lastAnswer = now
    }

    /// Whether a ping is due: none outstanding and `interval` passed since the last answer.
    func isPingDue(now: ContinuousClock.Instant, interval: Duration) -> Bool {
        outstanding == nil && lastAnswer.duration(to: now) >= interval
    }

    /// Records that ping `id` went out at `now`.
    mutating func sent(_ id: UInt64, at now: ContinuousClock.Instant) {
        outstanding = (id, now)
    }

    /// The id of the ping awaiting its pong.
    var outstandingID: UInt64? { outstanding?.id }

    /// A pong arrived at `now`; returns the breach when it answers no ping.
    mutating func received(_ pong: Pong, at now: ContinuousClock.Instant) -> String? {
        guard let outstanding, outstanding.id == pong.id else {
            return "sent a pong (id \(pong.id)) that answers no ping"
        }
        self.outstanding = nil
        lastAnswer = now
        busy = pong.busy.map { ($0, now) }
        return nil
    }

    /// Why the worker counts as hung at `now`, or nil.
    ///
    /// - Parameter excused: the supervisor may be the one that did not look (unread bytes from
    ///   this worker, or its loop running late); silence is then not blamed.
    func hang(now: ContinuousClock.Instant, timeout: Duration, excused: Bool) -> String? {
        if let busy {
            // The worker's own claim, extrapolated by our clock only while we are sure we read it.
            let claimed = Duration.milliseconds(busy.handler.sinceMilliseconds)
            let running = excused ? claimed : claimed + busy.reportedAt.duration(to: now)
            if running > timeout {
                let plugin = busy.handler.plugin.map { " in plugin \($0)" } ?? ""
                return "handler for \(busy.handler.event)\(plugin) has run for \(running.totalMilliseconds) ms"
            }
        }
        guard let outstanding, !excused else { return nil }
        let silence = outstanding.sentAt.duration(to: now)
        guard silence > timeout else { return nil }
        return "no answer to a heartbeat for \(silence.totalMilliseconds) ms"
    }
}
