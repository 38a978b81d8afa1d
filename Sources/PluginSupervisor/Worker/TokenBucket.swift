/// A rate limit as a token bucket: `rate` tokens a second, at most `burst` saved up.
///
/// Pure value, driven by the caller's clock, so a limit can be tested as a table.
struct TokenBucket: Sendable, Equatable {
    /// Tokens added per second.
    let rate: Double
    /// The most tokens the bucket holds (the largest burst admitted at once).
    let burst: Double
    private var tokens: Double
    private var updated: ContinuousClock.Instant

    /// A full bucket at `now`.
    init(rate: Double, burst: Double, now: ContinuousClock.Instant) {
        precondition(rate > 0 && burst >= 1, "a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now
    }

    /// Takes `cost` tokens at `now`; false (and nothing taken) when there are not enough.
    mutating func take(_ cost: Double = 1, now: ContinuousClock.Instant) -> Bool {
        let elapsed = updated.duration(to: now)
        if elapsed > .zero {
            let (seconds, attoseconds) = elapsed.components
            tokens = min(burst, tokens + (Double(seconds) + Double(attoseconds) * 1e-18) * rate)
            updated = now
        }
        guard tokens >= cost else { return false }
        tokens -= cost
        return true
    }
}
