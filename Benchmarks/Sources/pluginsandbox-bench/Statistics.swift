import Foundation
import PluginSupervisor

/// Nanosecond samples and their percentiles.
struct Samples {
    var values: [UInt64]

    init(_ values: [UInt64]) { self.values = values.sorted() }

    func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let index = min(values.count - 1, max(0, Int((p / 100 * Double(values.count)).rounded(.up)) - 1))
        return Double(values[index])
    }

    var p50: Double { percentile(50) }
    var p99: Double { percentile(99) }
    var mean: Double { values.isEmpty ? .nan : Double(values.reduce(0, +)) / Double(values.count) }
}

/// One line of the table: a figure, its baseline from the same run, the ratio, the target.
struct Figure: Codable {
    /// The section it belongs to (`spawn`, `round trip`, ...), what `--only` matches.
    var section = ""
    var name: String
    var value: String
    var baseline: String
    var ratio: String
    var target: String
    var met: String
    /// Raw numbers for --json comparison.
    var numbers: [String: Double]
    /// What else the run saw (attackers' causes, what stopped a fleet).
    var notes: String? = nil
}

/// `met` or `missed`.
func verdict(_ met: Bool) -> String { met ? "met" : "missed" }

func microseconds(_ nanoseconds: Double) -> String { String(format: "%.1f µs", nanoseconds / 1000) }
func milliseconds(_ nanoseconds: Double) -> String { String(format: "%.2f ms", nanoseconds / 1_000_000) }
func ratio(_ value: Double, _ baseline: Double) -> String { String(format: "%.2f×", value / baseline) }

func percentiles(_ samples: Samples, _ unit: (Double) -> String) -> String {
    "p50 \(unit(samples.p50)) · p99 \(unit(samples.p99))"
}

/// The figures as a Markdown table (the README's).
func renderMarkdown(_ figures: [Figure]) -> String {
    let escape = { (text: String) in text.replacingOccurrences(of: "|", with: "\\|") }
    var lines = ["| figure | measured | baseline (same run) | ratio | target | |", "|---|---|---|---|---|---|"]
    for figure in figures {
        let met = figure.met == "missed" ? "**missed**" : figure.met
        lines.append("| " + [figure.name, figure.value, figure.baseline, figure.ratio, figure.target, met].map(escape).joined(separator: " | ") + " |")
    }
    return lines.joined(separator: "\n")
}

func render(_ figures: [Figure]) -> String {
    let header = ["figure", "measured", "baseline (same run)", "ratio", "target", ""]
    let rows = [header] + figures.map { [$0.name, $0.value, $0.baseline, $0.ratio, $0.target, $0.met] }
    var widths = Array(repeating: 0, count: header.count)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    return rows.map { row in
        row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: " │ ")
    }.joined(separator: "\n")
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

struct BenchOptions: Sendable {
    var json = false
    var markdown = false
    var quick = false
    var only: String?
    /// Runs only the rows of a section whose name contains this text (the attack rows).
    var rows: String?
    /// The runtimes' start limit (`--start-limit off` or `CRASHES/SECONDS[:INTERVAL_MS]`); the
    /// product's default when not given.
    var startLimit: StartLimit? = StartLimit()

    init(arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--json": json = true
            case "--markdown": markdown = true
            case "--quick": quick = true
            case "--only": only = iterator.next()
            case "--rows": rows = iterator.next()
            case "--start-limit":
                let value = iterator.next() ?? ""
                if value == "off" {
                    startLimit = nil
                } else if let limit = StartLimit(argument: value) {
                    startLimit = limit
                } else {
                    FileHandle.standardError.write(Data("pluginsandbox-bench: --start-limit takes off or CRASHES/SECONDS[:INTERVAL_MS], not '\(value)'\n".utf8))
                    exit(64)
                }
            case "--help", "-h":
                print("""
                    usage: pluginsandbox-bench [--quick] [--json | --markdown] [--only SECTION] [--rows TEXT] [--start-limit off|CRASHES/SECONDS[:INTERVAL_MS]]
                    sections: \(Bench.sections.joined(separator: ", "))
                    """)
                exit(0)
            default:
                FileHandle.standardError.write(Data("pluginsandbox-bench: unknown argument \(argument)\n".utf8))
                exit(64)
            }
        }
    }

    /// Whether section `name` runs (`--only` matches part of its name).
    func wants(_ name: String) -> Bool { only.map { name.localizedCaseInsensitiveContains($0) } ?? true }
    /// Whether row `name` of a section runs (`--rows` matches part of its name).
    func wantsRow(_ name: String) -> Bool { rows.map { name.localizedCaseInsensitiveContains($0) } ?? true }
    func count(_ full: Int) -> Int { quick ? max(5, full / 10) : full }
}
