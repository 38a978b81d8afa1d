/// A session's CPU budget, as a value: at most `seconds` of CPU time in any window of
/// `window`, judged from the cgroup's usage counter (what the kernel observed, not what the
/// worker says). A plugin spinning in a thread of its own, outside any handler, is caught here.
struct CPUBudget: Sendable {
    let budget: Duration
    let window: Duration
    /// Samples of (when, total usage), oldest first, covering at least one window.
    private var samples: [(at: ContinuousClock.Instant, usage: Duration)] = []

    init(budget: Duration, window: Duration) {
        self.budget = budget
        self.window = window
    }

    /// Records the usage counter at `now`; returns the verdict when the budget is spent.
    mutating func record(usage: Duration, now: ContinuousClock.Instant) -> String? {
        samples.append((now, usage))
        // Keep the newest sample at least one window old as the baseline.
        while samples.count > 2, samples[1].at.duration(to: now) >= window { samples.removeFirst() }
        guard let baseline = samples.first else { return nil }
        let used = usage - baseline.usage
        let span = baseline.at.duration(to: now)
        guard used > budget else { return nil }
        return "used \(used.totalMilliseconds) ms of CPU in \(span.totalMilliseconds) ms; the budget is \(budget.totalMilliseconds) ms per \(window.totalMilliseconds) ms"
    }
}
