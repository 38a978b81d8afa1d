extension Duration {
    /// Whole milliseconds, rounded down.
    var totalMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// `"123 ms"`.
    var formattedMilliseconds: String { "\(totalMilliseconds) ms" }
}
