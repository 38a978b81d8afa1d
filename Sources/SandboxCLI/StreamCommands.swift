import ArgumentParser
import Foundation
import PluginSupervisor
import PluginWire

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a session's log: its plugins' log records, its stdout and stderr, the supervisor's notes.",
        discussion: "Each line shows its source and level. Example: sandboxctl logs doc-1 --since 5m --tail 20 --timestamps -f")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The session id (live or recently ended).", completion: .custom { _, _, _ in Completions.sessions() }) var id: String
    @Flag(name: [.short, .long], help: "Keep printing new lines until the session ends.") var follow = false
    @Option(help: "Only the last N lines.") var tail: Int?
    @Option(help: "Only lines newer than this (e.g. 90s, 5m, 1h).") var since: HumanDuration?
    @Flag(name: [.short, .long], help: "Prefix each line with its time (UTC, ISO 8601).") var timestamps = false

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("--tail must be 0 or more, not \(tail)") }
    }

    func run() throws {
        var arguments: [String: JSONValue] = ["id": .string(id), "follow": .bool(follow)]
        if let tail { arguments["tail"] = .int(Int64(tail)) }
        if let since { arguments["sinceSeconds"] = .double(since.seconds) }
        try stream(client, "logs", arguments, of: SessionLogEntry.self) { entry in
            if output.json { return try printJSONLine(entry) }
            print(Self.line(entry, timestamps: timestamps, quiet: output.quiet))
        }
    }

    /// `[plugin] info: document opened audit=1`, prefixed with the time under `--timestamps`.
    static func line(_ entry: SessionLogEntry, timestamps: Bool, quiet: Bool) -> String {
        if quiet { return entry.text }
        let metadata = entry.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        var line = "[\(entry.source.rawValue)] " + (entry.level.map { "\($0): " } ?? "") + entry.text
        if !metadata.isEmpty { line += " " + metadata }
        return timestamps ? "\(timestamp(entry.time)) \(line)" : line
    }
}

/// A time as `2025-01-31T12:00:00.123Z`.
func timestamp(_ date: Date) -> String {
    date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
}

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Print the sessions' lifecycle events: started, crashed, restarted, ended.",
        discussion: "The supervisor keeps the last 1000. Example: sandboxctl events --since 10m --follow")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Flag(name: [.short, .long], help: "Keep printing new events until Ctrl-C.") var follow = false
    @Option(help: "Only events newer than this (e.g. 90s, 5m, 1h).") var since: HumanDuration?

    func run() throws {
        var arguments: [String: JSONValue] = ["follow": .bool(follow)]
        if let since { arguments["sinceSeconds"] = .double(since.seconds) }
        try stream(client, "events", arguments, of: LifecycleRecord.self) { record in
            if output.json { return try printJSONLine(record) }
            print(output.quiet ? "\(record.session) \(record.event)" : Self.line(record))
        }
    }

    /// `2025-01-31T12:00:00.123Z  doc-1  crashed  signaled (SIGSEGV), restarting`.
    static func line(_ record: LifecycleRecord) -> String {
        var detail: [String] = []
        if let pid = record.pid { detail.append("pid \(pid)") }
        if let cause = record.cause { detail.append(cause.description) }
        if let willRestart = record.willRestart { detail.append(willRestart ? "restarting" : "not restarting") }
        if let attempt = record.attempt { detail.append("attempt \(attempt)") }
        return "\(timestamp(record.time))  \(record.session)  \(record.event)  \(detail.joined(separator: ", "))"
    }
}

/// Sends a streaming command and hands each chunk, one JSON `Record`, to `body` as it arrives.
func stream<Record: Decodable>(_ client: ClientOptions, _ command: String, _ arguments: [String: JSONValue], of type: Record.Type,
                               _ body: (Record) throws -> Void) throws {
    var problem: (any Error)?
    _ = try call(client, command, arguments) { chunk in
        guard problem == nil else { return }
        do {
            try body(try JSONValue(jsonData: Data(chunk.utf8)).decode(as: type))
            fflush(nil)
        } catch {
            problem = error
        }
    }
    if let problem {
        printError("the supervisor sent a `\(command)` record this client cannot read: \(problem)")
        throw ExitStatus.failed
    }
}
