import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The machine a run measured, for the table's header and the JSON document.
struct Machine: Codable, CustomStringConvertible {
    var kernel: String
    var cpu: String
    var cores: Int
    var date: String
    /// `/proc/loadavg` (1, 5, 15 minutes) when the run started and when it ended.
    var loadAverageAtStart: [Double]
    var loadAverageAtEnd: [Double]
    /// Versions of the tools the run used (compiler, peers, load generator).
    var tools: [String: String]
    /// The command line of the run.
    var command: String

    /// The machine as it is now (the end load average is filled in at the end).
    static func current(command: [String]) -> Machine {
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        var tools: [String: String] = [:]
        for (tool, arguments) in [("swift", ["--version"]), ("bwrap", ["--version"]), ("firejail", ["--version"]), ("stress-ng", ["--version"])] {
            if let version = firstLine(of: tool, arguments) { tools[tool] = version }
        }
        return Machine(kernel: kernel, cpu: model, cores: ProcessInfo.processInfo.activeProcessorCount,
                       date: ISO8601DateFormatter().string(from: Date()), loadAverageAtStart: loadAverage(), loadAverageAtEnd: [],
                       tools: tools, command: command.joined(separator: " "))
    }

    /// The 1, 5 and 15 minute load averages.
    static func loadAverage() -> [Double] {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    var description: String {
        let load = { (values: [Double]) in values.map { String(format: "%.2f", $0) }.joined(separator: " ") }
        var lines = ["machine: Linux \(kernel) · \(cpu) · \(cores) cores · \(date)",
                     "load average (1/5/15 min): \(load(loadAverageAtStart)) at start, \(load(loadAverageAtEnd)) at end",
                     "command: \(command)"]
        lines += tools.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        return lines.joined(separator: "\n")
    }
}

/// The first line a tool prints for `arguments` (stdout, else stderr), or nil when it does not run.
func firstLine(of tool: String, _ arguments: [String]) -> String? {
    let paths = ["/usr/bin/", "/usr/local/bin/", "/bin/", "/usr/sbin/"].map { $0 + tool }
    guard let path = paths.first(where: FileManager.default.isExecutableFile(atPath:)) else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    do { try process.run() } catch { return nil }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init)
}
