import ArgumentParser
import Foundation
import PluginWire

struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "settings", abstract: "Reconcile settings across the runtime.", subcommands: [Apply.self])

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Reconcile the global scope and every session to a RuntimeSettings file, or roll every scope back.",
            discussion: """
                The file is read and validated here: an unknown key (a typo such as "plugin" or "enabld") or a \
                value of the wrong type is an error naming the key and the value. One line per scope says what \
                happened; when a scope refuses, it is named with its reason, every scope is rolled back, and the \
                exit code is 1. Example: sandboxctl settings apply settings.json
                """)
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The RuntimeSettings JSON file (- for stdin).", completion: .file(extensions: ["json"])) var file: String

        func run() throws {
            let document: JSONValue
            do {
                document = try FileArgument.settings(file, for: "settings file").document
            } catch let error as SettingsFileError {
                printError(error.message)
                throw ExitStatus.failed
            }
            let result = try call(client, "settings", ["settings": document])
            guard case .object(let fields) = result, case .object(let scopes)? = fields["scopes"] else {
                printError("the supervisor sent an unreadable settings report")
                throw ExitStatus.failed
            }
            let applied = fields["applied"] == .bool(true)
            if output.json {
                try printJSON(result)
            } else if !output.quiet {
                // The global scope first, then the sessions by id.
                for (scope, report) in scopes.sorted(by: { ($0.key == "global" ? 0 : 1, $0.key) < ($1.key == "global" ? 0 : 1, $1.key) }) {
                    print("\(scope): \(Self.describe(report))")
                }
            }
            if !applied {
                if case .string(let refusing)? = fields["refusedBy"] {
                    printError("settings not applied: \(refusing == "global" ? "the global scope" : "session \(refusing)") refused; every scope was rolled back")
                }
                throw ExitStatus.failed
            }
        }

        static func describe(_ report: JSONValue) -> String {
            guard case .object(let fields) = report, case .string(let status)? = fields["status"] else { return "?" }
            func list(_ key: String) -> String {
                guard case .array(let items)? = fields[key] else { return "" }
                return items.compactMap { if case .string(let text) = $0 { return text } else { return nil } }.joined(separator: ",")
            }
            switch status {
            case "reconciled": return "reconciled: attached [\(list("attached"))] detached [\(list("detached"))] changed [\(list("changed"))]"
            case "refused":
                if case .string(let reason)? = fields["reason"] { return "REFUSED: \(reason)" }
                return "REFUSED"
            case "rolledBack": return "rolled back (keeps its previous settings)"
            default: return status
            }
        }
    }
}
