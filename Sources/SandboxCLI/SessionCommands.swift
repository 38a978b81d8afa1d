import ArgumentParser
import Foundation
import PluginSandbox
import PluginSupervisor
import PluginWire

struct SpawnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spawn", abstract: "Start a session in a new confined worker; prints its id.")
    @OptionGroup var socket: SocketOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .customLong("plugin"), help: "A session plugin to enable (repeat; default: the runtime's settings).")
    var plugins: [String] = []
    @Option(help: "The sandbox profile: a name in Sandbox/profiles or a path.")
    var profile: String?
    @Option(help: "A RuntimeSettings JSON file for this session.")
    var settings: String?
    @Option(help: "Restart policy: never, or on-crash[:R[/T]] (at most R restarts in T seconds).")
    var restart: String = "never"
    @Option(help: "The session id (default: a fresh one).")
    var id: String?
    @Option(name: .customLong("plugin-library"),
            help: "A plugin library whose session plugins join the session: PATH, or PATH@sha256:HEX to pin its digest (repeat).")
    var pluginLibraries: [String] = []

    func validate() throws {
        guard RestartPolicy(argument: restart) != nil else { throw ValidationError("--restart must be `never` or `on-crash[:R[/T]]`, not '\(restart)'") }
    }

    func run() throws {
        var arguments: [String: JSONValue] = ["plugins": .array(plugins.map { .string($0) }), "restart": .string(restart)]
        if let profile { arguments["profile"] = .string(profile) }
        if let id { arguments["id"] = .string(id) }
        if let settings { arguments["settings"] = try parsePayload("@" + settings) }
        if !pluginLibraries.isEmpty {
            // The daemon may run elsewhere: paths travel absolute.
            arguments["pluginLibraries"] = .array(pluginLibraries.map { argument in
                let reference = PluginLibraryReference(argument: argument)
                return .string(PluginLibraryReference(path: URL(fileURLWithPath: reference.path).standardizedFileURL.path,
                                                      sha256: reference.sha256).description)
            })
        }
        let result = try call(socket, "spawn", arguments)
        if output.json { return try printJSON(result) }
        if case .object(let fields) = result, case .string(let id)? = fields["id"] { print(id) }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the sessions: recently ended ones (with their cause) and live ones.")
    @OptionGroup var socket: SocketOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Only live sessions.") var live = false

    func run() throws {
        let result = try call(socket, "ls", ["live": .bool(live)])
        if output.json { return try printJSON(result) }
        let summaries = try result.decode(as: [SessionSummary].self)
        print(renderSessions(summaries))
    }
}

func renderSessions(_ summaries: [SessionSummary]) -> String {
    table(["ID", "PID", "STATE", "UPTIME", "RSS", "CPU", "IN", "OUT", "RESTARTS", "LAST CAUSE"], summaries.map { summary in
        [summary.id, summary.pid.map(String.init) ?? "-", summary.state, String(format: "%.1fs", Date().timeIntervalSince(summary.startedAt)),
         summary.residentBytes.map { "\($0 >> 20)M" } ?? "-", summary.cpuSeconds.map { String(format: "%.2fs", $0) } ?? "-",
         "\(summary.eventsIn)", "\(summary.eventsOut)", "\(summary.restarts)", summary.lastCause?.description ?? "-"]
    })
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show one session: plugins, limits, engaged sandbox layers.")
    @OptionGroup var socket: SocketOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The session id.") var id: String

    func run() throws {
        let result = try call(socket, "inspect", ["id": .string(id)])
        if output.json { return try printJSON(result) }
        let summary = try result.decode(as: SessionSummary.self)
        print(renderSessions([summary]))
        print("profile:  \(summary.profile)\nrestart:  \(summary.restartPolicy)")
        print("enabled:  \(summary.enabledPlugins.joined(separator: ", "))\nattached: \(summary.attachedPlugins.joined(separator: ", "))")
        print("sandbox:")
        for layer in summary.sandboxLayers { print("  \(layer)") }
    }
}

struct EmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "emit", abstract: "Emit an event (by wire name) into one session or all; prints the final envelope(s).")
    @OptionGroup var socket: SocketOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The session id (omit with --all).") var id: String?
    @Argument(help: "The event's wire name, e.g. ThemeChanged.") var event: String?
    @Flag(help: "Emit into every live session.") var all = false
    @Option(help: "Only handlers of this identifier (plus general ones) run.") var identifier: String?
    @Option(help: "The payload: JSON, or @file.") var payload: String?

    func validate() throws {
        if all && event == nil && id != nil { return }
        if !all && (id == nil || event == nil) { throw ValidationError("give a session id and an event name, or --all and an event name") }
    }

    func run() throws {
        let name = all ? (event ?? id ?? "") : (event ?? "")
        var arguments: [String: JSONValue] = ["event": .string(name), "payload": try parsePayload(payload), "all": .bool(all)]
        if !all, let id { arguments["id"] = .string(id) }
        if let identifier { arguments["identifier"] = .string(identifier) }
        let result = try call(socket, "emit", arguments)
        if output.json { return try printJSON(result) }
        guard case .object(let sessions) = result else { return }
        var failed = false
        for (session, outcome) in sessions.sorted(by: { $0.key < $1.key }) {
            guard case .object(let fields) = outcome, case .string(let status)? = fields["status"] else { continue }
            if let payload = fields["payload"], let text = try? payload.jsonData() {
                print("\(session)\t\(status)\t\(String(decoding: text, as: UTF8.self))")
            } else {
                failed = true
                if case .string(let error)? = fields["error"] { print("\(session)\t\(status)\t\(error)") }
            }
        }
        if failed { throw ExitStatus.failed }
    }
}

struct RequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "request", abstract: "Send a request (by wire name) into a session; prints the answer.")
    @OptionGroup var socket: SocketOptions
    @Argument(help: "The session id.") var id: String
    @Argument(help: "The request's wire name, e.g. WordCountRequest.") var name: String
    @Option(help: "The payload: JSON, or @file.") var payload: String?
    @Option(help: "Only handlers of this identifier (plus general ones) answer.") var identifier: String?

    func run() throws {
        var arguments: [String: JSONValue] = ["id": .string(id), "name": .string(name), "payload": try parsePayload(payload)]
        if let identifier { arguments["identifier"] = .string(identifier) }
        let result = try call(socket, "request", arguments)
        if case .object(let fields) = result, let answer = fields["payload"] { try printJSON(answer) }
    }
}

struct DisposeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dispose", abstract: "End a session gracefully: its plugins detach, its worker exits.")
    @OptionGroup var socket: SocketOptions
    @Argument(help: "The session id.") var id: String

    func run() throws {
        let result = try call(socket, "dispose", ["id": .string(id)])
        print((try? result.decode(as: ExitCause.self))?.description ?? "disposed")
    }
}

struct KillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Kill a session's worker at once (SIGKILL through its pidfd).")
    @OptionGroup var socket: SocketOptions
    @Argument(help: "The session id.") var id: String

    func run() throws {
        let result = try call(socket, "kill", ["id": .string(id)])
        print((try? result.decode(as: ExitCause.self))?.description ?? "killed")
    }
}

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a session's captured stdout and stderr.")
    @OptionGroup var socket: SocketOptions
    @Argument(help: "The session id.") var id: String
    @Flag(name: [.short, .long], help: "Keep printing new output until the session ends.") var follow = false

    func run() throws {
        _ = try call(socket, "logs", ["id": .string(id), "follow": .bool(follow)]) { chunk in
            print(chunk, terminator: "")
            fflush(nil)
        }
    }
}

struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "settings", abstract: "Reconcile settings across the runtime.", subcommands: [Apply.self])

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "apply", abstract: "Reconcile the global scope and every session to a RuntimeSettings file; rolled back everywhere if any scope fails.")
        @OptionGroup var socket: SocketOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The RuntimeSettings JSON file.") var file: String

        func run() throws {
            let settings = try parsePayload("@" + file)
            let result = try call(socket, "settings", ["settings": settings])
            if output.json { return try printJSON(result) }
            guard case .object(let scopes) = result else { return }
            for (scope, report) in scopes.sorted(by: { $0.key < $1.key }) {
                guard case .object(let fields) = report else { continue }
                let list = { (key: String) -> String in
                    if case .array(let items)? = fields[key] { return items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }.joined(separator: ",") }
                    return ""
                }
                print("\(scope): attached [\(list("attached"))] detached [\(list("detached"))] changed [\(list("changed"))]")
            }
        }
    }
}

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "doctor", abstract: "Report kernel support for each sandbox layer and what a profile engages.")
    @Option(help: "The profile to check (default: default).") var profile: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        let host = try SandboxHost.shared
        let chosen: SandboxProfile
        do {
            chosen = try host.profile(profile)
        } catch {
            printError("\(error)")
            throw ExitStatus.failed
        }
        let report = SandboxDoctor.report(profile: chosen)
        if output.json { return try printJSON(try JSONValue(encoding: report)) }
        print(report.description)
    }
}

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "profile", abstract: "Work with sandbox profiles.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "check", abstract: "Validate a profile file; errors name the key and value.")
        @Argument(help: "The profile file.") var file: String

        func run() throws {
            do {
                let profile = try SandboxProfile.load(contentsOf: file)
                let rules = profile.seccomp.groups.reduce(0) { $0 + $1.syscalls.count } + profile.seccomp.rules.count
                print("\(file): ok (profile \(profile.name), seccomp default \(profile.seccomp.defaultAction), \(rules) syscall rules)")
            } catch {
                printError("\(file): \(error)")
                throw ExitStatus.failed
            }
        }
    }
}
