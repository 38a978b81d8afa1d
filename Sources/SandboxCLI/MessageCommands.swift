import ArgumentParser
import Foundation
import PluginSupervisor
import PluginWire

struct EmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emit", abstract: "Emit an event (by wire name) into sessions, or all with --all; prints the final payloads.",
        discussion: """
            An event no handler takes is reported as unhandled, with exit code 1 (`sandboxctl plugins` lists \
            the events sessions accept). Examples: sandboxctl emit doc-1 doc-2 ThemeChanged --payload '{"theme":"dark"}' · \
            sandboxctl emit --all ThemeChanged --payload @theme.json
            """)
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: ArgumentHelp("Session ids, then the event's wire name (with --all: the event's name only).", valueName: "id... event"),
              completion: .custom { words, index, _ in Completions.sessionsThenEvents(words, index) })
    var words: [String] = []
    @Flag(help: "Emit into every live session (then give no id).") var all = false
    @Option(help: "Only handlers of this identifier (plus general ones) run.") var identifier: String?
    @Option(help: ArgumentHelp("The payload: JSON, @file, or @- for stdin.", valueName: "json|@file")) var payload: String?

    func validate() throws {
        if all && words.count != 1 {
            throw ValidationError(words.isEmpty ? "--all needs the event's name" : "give either session ids or --all, not both (got \(words.dropLast().joined(separator: " ")) with --all)")
        }
        if !all && words.count < 2 { throw ValidationError("give one or more session ids and the event's name, or --all and the event's name") }
    }

    func run() throws {
        let event = words[words.count - 1]
        var arguments: [String: JSONValue] = ["event": .string(event), "payload": try FileArgument.payload(payload), "all": .bool(all)]
        if !all { arguments["ids"] = .array(words.dropLast().map { .string($0) }) }
        if let identifier { arguments["identifier"] = .string(identifier) }
        let result = try call(client, "emit", arguments)
        guard case .object(let sessions) = result else { return }
        if output.json { try printJSON(result) }
        if sessions.isEmpty, all { printError("no live session took \(event)") }
        var failed = false
        for (session, outcome) in sessions.sorted(by: { $0.key < $1.key }) {
            guard case .object(let fields) = outcome, case .string(let status)? = fields["status"] else { continue }
            var detail = ""
            switch status {
            case "delivered", "stopped":
                if let payload = fields["payload"], let text = try? payload.jsonData() { detail = String(decoding: text, as: UTF8.self) }
            case "unhandled":
                failed = true
                detail = "nobody in \(session) handles \(event) (`sandboxctl plugins` lists the events sessions accept)"
                printError("\(session): \(event) was not handled")
            default:
                failed = true
                if case .string(let error)? = fields["error"] { detail = error }
            }
            if !output.json && !output.quiet { print("\(session)\t\(status)\t\(detail)") }
        }
        if failed { throw ExitStatus.failed }
    }
}

struct RequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request", abstract: "Send a request (by wire name) into a session; prints the answer.",
        discussion: #"Example: sandboxctl request doc-1 WordCountRequest --payload '{"text":"three little words"}'"#)
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The session id.", completion: .custom { _, _, _ in Completions.sessions() }) var id: String
    @Argument(help: "The request's wire name, e.g. WordCountRequest.", completion: .custom { _, _, _ in Completions.messages(.request) })
    var name: String
    @Option(help: ArgumentHelp("The payload: JSON, @file, or @- for stdin.", valueName: "json|@file")) var payload: String?
    @Option(help: "Only handlers of this identifier (plus general ones) answer.") var identifier: String?

    func run() throws {
        var arguments: [String: JSONValue] = ["id": .string(id), "name": .string(name), "payload": try FileArgument.payload(payload)]
        if let identifier { arguments["identifier"] = .string(identifier) }
        let result = try call(client, "request", arguments)
        guard !output.quiet, case .object(let fields) = result, let answer = fields["payload"] else { return }
        try printJSON(answer)
    }
}
