import ArgumentParser
import Foundation
import PluginSandbox
import PluginSupervisor
import PluginWire

struct SpawnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spawn", abstract: "Start a session in a new confined worker; prints its id.",
        discussion: "Example: sandboxctl spawn --id doc-1 --plugin editor --profile ./strict.json --restart on-crash:3/5")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Option(name: .customLong("plugin"), help: ArgumentHelp("A session plugin to enable (repeat; default: as the runtime's settings say).", valueName: "id"),
            completion: .custom { _, _, _ in Completions.plugins() })
    var plugins: [String] = []
    @Option(help: ArgumentHelp("The sandbox profile: a name (built-in, $PLUGINSANDBOX_PROFILES, /etc/pluginsandbox/profiles) or a file this command reads (a path, or - for stdin).", valueName: "name|file"),
            completion: .custom { _, _, _ in Completions.profiles() })
    var profile: String?
    @Option(help: ArgumentHelp("A RuntimeSettings JSON file for this session alone (- for stdin); default: the runtime's settings.", valueName: "file"),
            completion: .file(extensions: ["json"]))
    var settings: String?
    @Option(help: "Restart policy: never, or on-crash[:R[/T]] (at most R restarts in T seconds).")
    var restart: RestartPolicy = .never
    @Option(help: "The session id (default: a fresh one).")
    var id: String?
    @Option(name: .customLong("plugin-library"),
            help: "A plugin library whose session plugins join the session: PATH, or PATH@sha256:HEX to pin its digest (repeat).")
    var pluginLibraries: [String] = []

    func validate() throws {
        if profile == "-" && settings == "-" { throw ValidationError("--profile and --settings cannot both read standard input") }
    }

    func run() throws {
        var arguments: [String: JSONValue] = ["plugins": .array(plugins.map { .string($0) }), "restart": .string(restart.argument)]
        do {
            if let profile {
                if FileArgument.isProfileFile(profile) {
                    arguments["profileDocument"] = try FileArgument.profile(profile, for: "--profile").document
                } else {
                    arguments["profile"] = .string(profile)
                }
            }
            if let settings { arguments["settings"] = try FileArgument.settings(settings, for: "--settings").document }
        } catch let error as SettingsFileError {
            printError(error.message)
            throw ExitStatus.failed
        }
        if let id { arguments["id"] = .string(id) }
        if !pluginLibraries.isEmpty {
            // The supervisor may run in another directory: paths travel absolute.
            arguments["pluginLibraries"] = .array(pluginLibraries.map { argument in
                let reference = PluginLibraryReference(argument: argument)
                return .string(PluginLibraryReference(path: URL(fileURLWithPath: reference.path).standardizedFileURL.path,
                                                      sha256: reference.sha256).description)
            })
        }
        let result = try call(client, "spawn", arguments)
        let summary = try result.decode(as: SessionSummary.self)
        if output.json { return try printJSON(summary) }
        print(summary.id)
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List the sessions: recently ended ones (with their cause) and live ones.",
        discussion: "Example: sandboxctl ls --live -q   (the live sessions' ids)")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Only live sessions.") var live = false

    func run() throws {
        let summaries = try call(client, "ls", ["live": .bool(live)]).decode(as: [SessionSummary].self)
        if output.json { return try printJSON(summaries) }
        if output.quiet { return summaries.forEach { print($0.id) } }
        print(renderSessions(summaries))
        if let note = startLimitNote(try call(client, "ping")) { print(note) }
    }

    /// A line for the table's foot while the supervisor's start limit spaces starts.
    func startLimitNote(_ ping: JSONValue) -> String? {
        guard case .object(let reply) = ping, let status = try? reply["startLimit"]?.decode(as: StartLimit.Status.self),
              status.engaged else { return nil }
        var rule = ""
        if case .string(let text)? = reply["startLimitRule"] { rule = " (\(text))" }
        return "start limit engaged\(rule): \(status.recentCrashes) recent crashes; \(status.delayedStarts) starts delayed, \(status.refusedStarts) refused"
    }
}

/// Whether a session's worker is gone for good.
func hasEnded(_ summary: SessionSummary) -> Bool { summary.state == "ended" || summary.state == "crashed" }

func renderSessions(_ summaries: [SessionSummary], now: Date = Date()) -> String {
    table(["ID", "PID", "STATE", "UPTIME", "RSS", "CPU", "IN", "OUT", "RESTARTS", "LAST CAUSE"], summaries.map { summary -> [String] in
        let id: String = summary.id.rawValue
        return [id, summary.pid.map(String.init) ?? "-", summary.state,
         hasEnded(summary) || summary.pid == nil ? "-" : HumanDuration.format(now.timeIntervalSince(summary.startedAt)),
         summary.residentBytes.map { "\($0 >> 20)M" } ?? "-", summary.cpuSeconds.map { String(format: "%.2fs", $0) } ?? "-",
         "\(summary.eventsIn)", "\(summary.eventsOut)", "\(summary.restarts)", summary.lastCause?.description ?? "-"]
    })
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show sessions: plugins, restart policy, every sandbox layer (DEGRADED marked).",
        discussion: "Example: sandboxctl inspect doc-1 doc-2")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "Session ids.", completion: .custom { _, _, _ in Completions.sessions() }) var ids: [String]

    func validate() throws {
        if ids.isEmpty { throw ValidationError("give at least one session id") }
    }

    func run() throws {
        var summaries: [SessionSummary] = []
        var failed = false
        for id in ids {
            switch send(client, "inspect", ["id": .string(id)]) {
            case .success(let value): summaries.append(try value.decode(as: SessionSummary.self))
            case .failure(let failure):
                printError(failure.message)
                if failure.exitCode != ExitStatus.failed { throw failure.exitCode }
                failed = true
            }
        }
        if output.json {
            if ids.count == 1, let only = summaries.first { try printJSON(only) } else { try printJSON(summaries) }
        } else if !output.quiet {
            print(summaries.map(Self.render).joined(separator: "\n\n"))
        }
        if failed { throw ExitStatus.failed }
    }

    static func render(_ summary: SessionSummary) -> String {
        var lines = [renderSessions([summary])]
        lines.append("profile:   \(summary.profile)\nrestart:   \(summary.restartPolicy)")
        lines.append("enabled:   \(summary.enabledPlugins.joined(separator: ", "))\nattached:  \(summary.attachedPlugins.joined(separator: ", "))")
        let layers = summary.sandboxLayers + (summary.resources.map { [$0] } ?? [])
        let degraded = layers.filter { $0.contains("DEGRADED") }.count
        lines.append("sandbox:   \(layers.count) layers\(degraded > 0 ? ", \(degraded) DEGRADED" : "")")
        for layer in layers {
            lines.append("  \(layer.contains("DEGRADED") ? "DEGRADED" : "engaged ")  \(layer)")
        }
        return lines.joined(separator: "\n")
    }
}

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "A live table of the sessions, refreshed every --interval until Ctrl-C.",
        discussion: "Example: sandboxctl top --interval 2s")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Print one frame and exit.") var once = false
    @Option(help: "Time between frames, from 100ms to 1h (e.g. 500ms, 2s, 1m).") var interval = HumanDuration(seconds: 1)
    @Option(help: "Stop after this many frames (default: until Ctrl-C).") var frames: Int?

    func validate() throws {
        guard (0.1...3600).contains(interval.seconds) else { throw ValidationError("--interval must be between 100ms and 1h, not \(interval)") }
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1") }
    }

    func run() throws {
        let limit = once ? 1 : frames
        var shown = 0
        let terminal = isatty(STDOUT_FILENO) == 1
        while true {
            let summaries = try call(client, "ls", ["live": .bool(false)]).decode(as: [SessionSummary].self)
            if output.json {
                try printJSONLine(summaries)
            } else if output.quiet {
                summaries.forEach { print($0.id) }
            } else {
                if terminal && limit != 1 { print("\u{1B}[2J\u{1B}[H", terminator: "") }
                print(renderSessions(summaries))
            }
            fflush(nil)
            shown += 1
            if let limit, shown >= limit { return }
            Thread.sleep(forTimeInterval: interval.seconds)
        }
    }
}

/// The restart policy as an option value: `never`, `on-crash`, `on-crash:3`, `on-crash:3/5`.
extension RestartPolicy: ExpressibleByArgument {
    /// The command-line form of this policy.
    var argument: String {
        guard restarts else { return "never" }
        let (seconds, attoseconds) = window.components
        let window = Double(seconds) + Double(attoseconds) / 1e18
        return "on-crash:\(maxRestarts)/\(window == window.rounded() ? String(Int(window)) : String(window))"
    }

    public static var allValueStrings: [String] { ["never", "on-crash", "on-crash:R/T"] }
}
