import ArgumentParser
import Foundation
import PluginSupervisor
import PluginWire

/// Runs `command` for each id in turn, printing one line per id (`id: what happened`); goes on
/// past a failed id and exits 1 at the end, or stops at once when no supervisor answers.
func forEachSession(_ ids: [String], _ command: String, client: ClientOptions, output: OutputOptions,
                    describe: (JSONValue) -> String) throws {
    var results: [String: JSONValue] = [:]
    var failed = false
    for id in ids {
        switch send(client, command, ["id": .string(id)]) {
        case .success(let value):
            results[id] = value
            if !output.json && !output.quiet { print("\(id): \(describe(value))") }
        case .failure(let failure):
            printError(failure.message)
            if failure.exitCode != ExitStatus.failed { throw failure.exitCode }
            results[id] = .object(["error": .string(failure.message), "code": .string(failure.code)])
            failed = true
        }
    }
    if output.json { try printJSON(results) }
    if failed { throw ExitStatus.failed }
}

/// The session-id argument every multi-id command takes, completed with the live sessions' ids.
struct SessionIDs: ParsableArguments {
    @Argument(help: "Session ids.", completion: .custom { _, _, _ in Completions.sessions() }) var ids: [String] = []

    func validate() throws {
        if ids.isEmpty { throw ValidationError("give at least one session id") }
    }
}

private func cause(_ value: JSONValue) -> String {
    (try? value.decode(as: ExitCause.self))?.description ?? "done"
}

struct DisposeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispose", abstract: "End sessions gracefully: their plugins detach, their workers exit.",
        discussion: "Example: sandboxctl dispose doc-1 doc-2")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var sessions: SessionIDs

    func run() throws { try forEachSession(sessions.ids, "dispose", client: client, output: output, describe: cause) }
}

struct KillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill", abstract: "Kill sessions' workers at once (SIGKILL through the pidfd); no restart.",
        discussion: "Example: sandboxctl kill doc-1")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var sessions: SessionIDs

    func run() throws { try forEachSession(sessions.ids, "kill", client: client, output: output, describe: cause) }
}

struct RestartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart", abstract: "Replace sessions' workers with new ones: same id and settings, the restart policy not charged.",
        discussion: "Example: sandboxctl restart doc-1   (its uptime starts again)")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var sessions: SessionIDs

    func run() throws { try forEachSession(sessions.ids, "restart", client: client, output: output) { _ in "restarting" } }
}

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Forget ended sessions: they leave `ls`, with their log.",
        discussion: "A live session is refused unless --force, which kills it first. Example: sandboxctl rm doc-1")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var sessions: SessionIDs
    @Flag(name: [.short, .long], help: "Kill a live session first.") var force = false

    func run() throws {
        if force {
            for id in sessions.ids {
                if case .failure(let failure) = send(client, "kill", ["id": .string(id)]), failure.exitCode != ExitStatus.failed {
                    printError(failure.message)
                    throw failure.exitCode
                }
            }
        }
        try forEachSession(sessions.ids, "forget", client: client, output: output) { _ in "removed" }
    }
}

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Forget every ended session; prints their ids.", discussion: "Example: sandboxctl prune -q")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let ids = try call(client, "prune").decode(as: [String].self)
        if output.json { return try printJSON(ids) }
        if output.quiet { return }
        ids.forEach { print($0) }
    }
}
