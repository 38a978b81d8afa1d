import ArgumentParser
import FaultPlugins
import Foundation
import PluginKit
import PluginSandbox
import PluginSupervisor
import PluginWire

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Report kernel support for each sandbox layer and what a profile engages.",
        discussion: "Exits 1 when a layer the profile requires cannot be engaged here. Example: sandboxctl doctor --profile strict")
    @OptionGroup var output: OutputOptions
    @Option(help: ArgumentHelp("The profile to check: a name, or a file (default: default).", valueName: "name|file"),
            completion: .custom { _, _, _ in Completions.profiles() })
    var profile: String?

    func run() throws {
        let chosen: SandboxProfile
        do {
            chosen = try SandboxHost.shared.profile(argument: profile)
        } catch {
            printError("\(error)")
            throw ExitStatus.failed
        }
        let report = SandboxDoctor.report(profile: chosen)
        if output.json {
            try printJSON(report)
        } else if !output.quiet {
            print(report.description)
        }
        if !report.blocking.isEmpty {
            printError("profile \(chosen.name) requires \(report.blocking.joined(separator: ", ")), which cannot be engaged here")
            throw ExitStatus.failed
        }
    }
}

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "profile", abstract: "Work with sandbox profiles.", subcommands: [Check.self, List.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check", abstract: "Validate a profile file; errors name the key and value.",
            discussion: "Example: sandboxctl profile check /etc/pluginsandbox/profiles/tight.json")
        @OptionGroup var output: OutputOptions
        @Argument(help: "The profile file (- for stdin).", completion: .file(extensions: ["json"])) var file: String

        func run() throws {
            let profile: SandboxProfile
            do {
                profile = try FileArgument.profile(file, for: "profile").profile
            } catch let error as SettingsFileError {
                printError(error.message)
                throw ExitStatus.failed
            }
            let rules = profile.seccomp.groups.reduce(0) { $0 + $1.syscalls.count } + profile.seccomp.rules.count
            if output.json {
                try printJSON(["file": file, "name": profile.name, "seccompDefault": profile.seccomp.defaultAction, "syscallRules": "\(rules)"])
            } else if !output.quiet {
                print("\(file): ok (profile \(profile.name), seccomp default \(profile.seccomp.defaultAction), \(rules) syscall rules)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List the profiles this program finds by name, and where it looks.",
            discussion: "Search order: the host's directories, $PLUGINSANDBOX_PROFILES, /etc/pluginsandbox/profiles, the built-in profiles.")
        @OptionGroup var output: OutputOptions

        func run() throws {
            let catalog = try SandboxHost.shared.sandbox.configuration.profiles
            if output.json { return try printJSON(["profiles": catalog.names, "searchPath": catalog.searchPath + ["(built-in)"]]) }
            catalog.names.forEach { print($0) }
            if !output.quiet { print("(searched: \((catalog.searchPath + ["the built-in profiles"]).joined(separator: ", ")))") }
        }
    }
}

struct FaultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults", abstract: "List the faults the `fault` plugin injects, with what each does and what the sandbox answers.",
        discussion: #"Inject one: sandboxctl emit doc-1 InjectFault --payload '{"kind":"segfault"}'"#)
    @OptionGroup var output: OutputOptions

    func run() throws {
        let faults = FaultCatalog.descriptions
        if output.json { return try printJSON(faults.map { ["name": $0.name, "description": $0.summary] }) }
        if output.quiet { return faults.forEach { print($0.name) } }
        print(table(["FAULT", "WHAT IT DOES · WHAT THE SANDBOX ANSWERS"], faults.map { [$0.name, $0.summary] }))
    }
}

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "What the host offers: its plugins, and the events and requests they accept with their payload fields.",
        discussion: "Example: sandboxctl plugins   (then: sandboxctl emit doc-1 ThemeChanged --payload '{\"theme\":\"dark\"}')")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let offer = try call(client, "plugins").decode(as: PluginOffer.self)
        if output.json { return try printJSON(offer) }
        if output.quiet { return (offer.globalPlugins + offer.sessionPlugins).forEach { print($0.id) } }
        print(table(["PLUGIN", "SCOPE", "STATE"],
                    offer.globalPlugins.map { [$0.id, "global", $0.attached == true ? "attached" : "not attached"] }
                        + offer.sessionPlugins.map { [$0.id, "session", "in each session its settings enable"] }))
        print("")
        print(table(["KIND", "NAME", "SCOPE", "PAYLOAD", "ANSWER", "HANDLED BY", "WHAT"], offer.messages.map { message in
            [message.kind, message.name, message.scope,
             "{" + message.fields.map { "\($0.name): \($0.type)\($0.optional ? "?" : "")" }.joined(separator: ", ") + "}",
             message.response ?? "-", message.plugins.joined(separator: ","), message.summary]
        }))
    }
}

struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion", abstract: "Print a shell completion script (session ids, profile, plugin, event and request names complete).",
        discussion: """
            bash: sandboxctl completion bash > /etc/bash_completion.d/sandboxctl · \
            zsh: sandboxctl completion zsh > "${fpath[1]}/_sandboxctl" · \
            fish: sandboxctl completion fish > ~/.config/fish/completions/sandboxctl.fish
            """)
    @Argument(help: "The shell: bash, zsh or fish.") var shell: String

    func validate() throws {
        guard CompletionShell(rawValue: shell) != nil else { throw ValidationError("unknown shell '\(shell)'; choose bash, zsh or fish") }
    }

    func run() throws {
        guard let chosen = CompletionShell(rawValue: shell) else { throw ExitStatus.usage }
        print(SandboxCommand.completionScript(for: chosen))
    }
}

/// Values the shell completion offers, read at completion time.
enum Completions {
    /// The ids of the sessions the supervisor knows (none when it does not answer).
    static func sessions() -> [String] {
        guard let client = try? ClientOptions.parse([]), case .success(let value) = send(client, "ls", ["live": .bool(false)]),
              let summaries = try? value.decode(as: [SessionSummary].self) else { return [] }
        return summaries.map(\.id.rawValue)
    }

    /// The profile names the program finds.
    static func profiles() -> [String] {
        (try? SandboxHost.shared.sandbox.configuration.profiles.names) ?? []
    }

    /// The session plugins' ids.
    static func plugins() -> [String] {
        (try? SandboxHost.shared.sessionPlugins.pluginIDs.map(\.rawValue)) ?? []
    }

    /// The wire names of the events or requests sessions accept.
    static func messages(_ kind: WireInterface.Entry.Kind) -> [String] {
        ((try? SandboxHost.shared.interface.entries) ?? []).filter { $0.kind == kind && $0.scope == .session }.map(\.name)
    }

    /// For `emit`: session ids, and the event names once an id is given.
    static func sessionsThenEvents(_ words: [String], _ index: Int) -> [String] {
        sessions() + (index > 2 ? messages(.event) : [])
    }
}
