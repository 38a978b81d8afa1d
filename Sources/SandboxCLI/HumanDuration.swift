import ArgumentParser

/// A duration as people write it: `90s`, `6m`, `1h30m`, `250ms`, `2d`, or plain seconds (`1.5`).
struct HumanDuration: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    /// The length in seconds.
    var seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
    }

    init?(argument: String) {
        if let plain = Double(argument), plain >= 0, plain.isFinite {
            seconds = plain
            return
        }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        var total = 0.0
        var rest = Substring(argument)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            guard let scale = units.first(where: { $0.0 == unit })?.1 else { return nil }
            rest = rest.dropFirst(unit.count)
            total += value * scale
        }
        seconds = total
    }

    static var defaultCompletionKind: CompletionKind { .default }

    var description: String { Self.format(seconds) }

    /// `45s`, `6m12s`, `6m` (from ten minutes), `2h3m`, `3d4h`: as `kubectl get` shows ages.
    static func format(_ seconds: Double) -> String {
        let whole = max(0, Int(seconds.rounded(.down)))
        if seconds < 1 && seconds > 0 { return "\(Int((seconds * 1000).rounded()))ms" }
        if whole < 60 { return "\(whole)s" }
        let minutes = whole / 60, hours = minutes / 60, days = hours / 24
        if minutes < 10 { return whole % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(whole % 60)s" }
        if hours == 0 { return "\(minutes)m" }
        if days == 0 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        return hours % 24 == 0 ? "\(days)d" : "\(days)d\(hours % 24)h"
    }
}
