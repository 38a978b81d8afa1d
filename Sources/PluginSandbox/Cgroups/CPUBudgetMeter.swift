/// Measures a session's CPU time against its ``CPUBudget`` from cumulative readings
/// (``WorkerCgroup/cpuUsage()``) taken whenever the supervisor samples.
///
/// The usage in the window is counted from the oldest reading still inside the window, so it
/// never overstates what the session used: a session is ended only when it surely spent more than
/// its budget in some window of that length. Record a reading of zero when the group is made.
public struct CPUBudgetMeter: Sendable {
    /// The budget measured against.
    public let budget: CPUBudget
    private var readings: [(at: ContinuousClock.Instant, usage: Duration)] = []

    /// Creates a meter for `budget`.
    public init(budget: CPUBudget) {
        self.budget = budget
    }

    /// Records the group's cumulative CPU time `usage` read at `instant`; returns the CPU time used
    /// within the last window when that exceeds the budget, nil otherwise.
    public mutating func record(usage: Duration, at instant: ContinuousClock.Instant) -> Duration? {
        readings.append((instant, usage))
        let start = instant - budget.window
        let firstInside = readings.firstIndex { $0.at >= start } ?? readings.count - 1
        readings.removeFirst(firstInside)
        let used = usage - readings[0].usage
        return used > budget.cpuTime ? used : nil
    }
}
