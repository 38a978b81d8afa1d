/// Calls made to a worker that wait for its reply, by correlation id, with their deadlines.
struct PendingCalls<Waiter> {
    struct Entry {
        let waiter: Waiter
        let deadline: ContinuousClock.Instant
        /// What the call is, for timeout messages (`emit DocumentOpened`).
        let what: String
    }

    private var entries: [UInt64: Entry] = [:]

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    mutating func insert(_ id: UInt64, _ entry: Entry) {
        entries[id] = entry
    }

    /// Takes the entry for a reply; nil for a reply nobody waits for.
    mutating func complete(_ id: UInt64) -> Entry? {
        entries.removeValue(forKey: id)
    }

    /// Takes every entry whose deadline has passed at `now`.
    mutating func expire(now: ContinuousClock.Instant) -> [(id: UInt64, entry: Entry)] {
        let due = entries.filter { $0.value.deadline <= now }
        for id in due.keys { entries[id] = nil }
        return due.map { ($0.key, $0.value) }
    }

    /// Takes every entry (the worker ended).
    mutating func removeAll() -> [Entry] {
        defer { entries.removeAll() }
        return Array(entries.values)
    }
}
