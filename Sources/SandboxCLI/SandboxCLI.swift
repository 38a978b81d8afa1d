import ArgumentParser
import Dispatch
import Foundation
import Logging

/// The `sandboxctl` command line, embeddable by any host with its own plugins.
///
/// ```swift
/// let sandbox = Sandbox.bootstrap(sessionPlugins: ...)          // first: workers never return from it
/// let invocation = SandboxCLI.parse(host: SandboxHost(name: "myhost", globalPlugins: { [...] }, sandbox: sandbox))
/// LoggingSystem.bootstrap(invocation.logOutput.makeHandler)     // once, by the executable
/// SandboxCLI.run(invocation)
/// ```
public enum SandboxCLI {
    /// The version `sandboxctl --version` prints by default.
    public static let version = "0.1.0"

    /// A parsed command line, ready to run.
    public struct Invocation {
        let command: any ParsableCommand
        /// How the command asks the program to log (`serve --log-format/--log-level`; warnings as text otherwise).
        public let logOutput: LogOutput
    }

    /// Parses the process's arguments for `host`. Help, `--version`, completion requests and
    /// usage errors (exit 64, with a suggestion for a mistyped command) end the process here.
    public static func parse(host: SandboxHost, arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Invocation {
        SandboxHost.install(host)
        if let unknown = unknownCommand(in: arguments) {
            let suggestions = suggest(unknown)
            printError("unknown command '\(unknown)'" + (suggestions.isEmpty ? "" : "; did you mean \(suggestions.map { "'\($0)'" }.joined(separator: " or "))?"))
            printError("`\(host.name) --help` lists the commands")
            exit(ExitStatus.usage.rawValue)
        }
        do {
            let command = try SandboxCommand.parseAsRoot(arguments)
            let logOutput = (command as? ServeCommand)?.logOutput ?? LogOutput()
            return Invocation(command: command, logOutput: logOutput)
        } catch {
            SandboxCommand.exit(withError: error)
        }
    }

    /// Runs a parsed command; never returns. Call after `LoggingSystem.bootstrap`.
    public static func run(_ invocation: sending Invocation) -> Never {
        Task {
            do {
                var command = invocation.command
                if var asynchronous = command as? any AsyncParsableCommand {
                    try await asynchronous.run()
                } else {
                    try command.run()
                }
                exit(0)
            } catch let error as SettingsFileError {
                printError(error.message)
                exit(ExitStatus.failed.rawValue)
            } catch {
                SandboxCommand.exit(withError: error)
            }
        }
        dispatchMain()
    }

    /// Parses, bootstraps logging as the command asks, and runs: for a host whose `main` does
    /// nothing else with logging.
    public static func run(host: SandboxHost) -> Never {
        let invocation = parse(host: host)
        LoggingSystem.bootstrap(invocation.logOutput.makeHandler)
        run(invocation)
    }

    /// Root options that take a value (so their value is not taken for a command name).
    private static let valuedRootOptions: Set<String> = ["--socket", "-o", "--output"]

    /// The first word that should name a command and names none.
    static func unknownCommand(in arguments: [String]) -> String? {
        var skipNext = false
        for argument in arguments {
            if skipNext {
                skipNext = false
                continue
            }
            if argument == "--" { return nil }
            if argument.hasPrefix("-") {
                skipNext = valuedRootOptions.contains(argument)
                continue
            }
            return commandNames.contains(argument) ? nil : argument
        }
        return nil
    }

    static var commandNames: Set<String> {
        Set(SandboxCommand.configuration.subcommands.map { $0._commandName } + ["help"])
    }

    /// Command names within two edits of `word`, or that it begins.
    static func suggest(_ word: String) -> [String] {
        commandNames.filter { $0 != "help" && (editDistance(word, $0) <= 2 || (word.count >= 2 && $0.hasPrefix(word))) }.sorted()
    }

    static func editDistance(_ left: String, _ right: String) -> Int {
        let a = Array(left), b = Array(right)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// The root command.
struct SandboxCommand: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: (try? SandboxHost.shared.name) ?? "sandboxctl",
            abstract: "Run untrusted plugins in sandboxed sessions, and operate the supervisor.",
            discussion: """
                A supervisor (`sandboxctl serve`) owns the global plugins; every session runs in its own \
                worker process, confined by namespaces, seccomp, Landlock and rlimits. The other commands talk \
                to a running supervisor over its control socket (--socket, $SANDBOXCTL_SOCKET, else \
                $XDG_RUNTIME_DIR/sandboxctl.sock, then /run/sandboxctl.sock). Every command takes -o json \
                (or --json) and -q; commands on sessions take several ids.

                Exit codes: 0 success · 1 the command failed (unknown session, refused settings, unhandled \
                event, ...) · 64 usage error · 69 no supervisor running · 77 permission denied.
                """,
            version: (try? SandboxHost.shared.version) ?? SandboxCLI.version,
            subcommands: [
                ServeCommand.self, SpawnCommand.self, ListCommand.self, InspectCommand.self, EmitCommand.self, RequestCommand.self,
                LogsCommand.self, EventsCommand.self, TopCommand.self, RestartCommand.self, DisposeCommand.self, KillCommand.self,
                RemoveCommand.self, PruneCommand.self, SettingsCommand.self, PluginsCommand.self, DoctorCommand.self,
                ProfileCommand.self, FaultsCommand.self, DemoCommand.self, SoakCommand.self, CompletionCommand.self,
            ])
    }

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
}
