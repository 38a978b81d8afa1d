import ArgumentParser
import Foundation
import Logging
import PluginKit
import PluginSupervisor
import PluginWire
import ServiceLifecycle

/// The `--start-limit` value: a ``StartLimit`` or `off`.
struct StartLimitArgument: ExpressibleByArgument {
    var limit: StartLimit?

    init(limit: StartLimit?) { self.limit = limit }

    init?(argument: String) {
        if argument == "off" {
            limit = nil
        } else if let limit = StartLimit(argument: argument) {
            self.limit = limit
        } else {
            return nil
        }
    }

    var defaultValueDescription: String {
        limit?.argument ?? "off"
    }
}

/// `sandboxctl serve`: the supervisor in the foreground, with its control socket.
///
/// One `ServiceGroup` owns the lifecycle: the host's service (sessions, routing, restarts), the
/// lifecycle journal, the control server and the readiness notification. SIGTERM or SIGINT shuts
/// it down gracefully, in reverse order: `STOPPING=1` is sent, the control socket closes (its
/// file removed if it is still ours), then every session is disposed and the host stops.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the supervisor in the foreground, serving the control socket until SIGTERM or SIGINT.",
        discussion: """
            Refuses to start when a supervisor already answers on the socket (exit 1, naming its pid). \
            Under systemd (Type=notify) it sends READY=1 once the socket is open and STOPPING=1 when it \
            begins to shut down. Example: sandboxctl serve --socket /run/sandboxctl.sock --log-format json
            """)

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Option(help: ArgumentHelp("A RuntimeSettings JSON file for the global scope and new sessions (- for stdin).", valueName: "file"),
            completion: .file(extensions: ["json"]))
    var settings: String?
    @Option(help: ArgumentHelp("The profile sessions get when `spawn` names none.", valueName: "name"),
            completion: .custom { _, _, _ in Completions.profiles() })
    var profile: String = "default"
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: info; error with -q).")
    var logLevel: Logger.Level?
    @Option(help: "Log format: text, or json (one object per line; default with -o json).")
    var logFormat: LogOutput.Format?
    @Option(help: ArgumentHelp(
        "Space session starts while workers keep crashing: CRASHES/SECONDS[:INTERVAL_MS] (after CRASHES crashes within SECONDS, one start every INTERVAL_MS), or off.",
        valueName: "limit"))
    var startLimit: StartLimitArgument = StartLimitArgument(limit: StartLimit())

    func validate() throws {
        if FileArgument.isProfileFile(profile) {
            throw ValidationError("--profile takes a profile name here, not a file ('\(profile)'): put NAME.json in $PLUGINSANDBOX_PROFILES or /etc/pluginsandbox/profiles")
        }
    }

    /// The log output this invocation asks for (the executable bootstraps logging with it).
    var logOutput: LogOutput {
        LogOutput(format: logFormat ?? (output.json ? .json : .text), level: logLevel ?? (output.quiet ? .error : .info))
    }

    func run() async throws {
        let path = client.servePath
        // Refused before any runtime, zygote or session is made.
        if let pid = ControlServer.liveSupervisor(at: path) {
            printError("a supervisor (pid \(pid)) is already serving on \(path); stop it, or give this one another --socket")
            throw ExitStatus.failed
        }
        let host = try SandboxHost.shared
        let logger = Logger(label: "sandboxctl")
        var initial = RuntimeSettings()
        do {
            if let settings { initial = try FileArgument.settings(settings, for: "--settings").settings }
            _ = try host.profile(argument: profile)
        } catch {
            printError("\(error)")
            throw ExitStatus.failed
        }
        let daemon = try await Daemon.make(host, settings: initial, logger: logger) { $0.startLimit = startLimit.limit }
        let server: ControlServer
        do {
            server = try await daemon.host.openControlSocket(at: path)
        } catch {
            printError("\(error)")
            await daemon.runtime.dispose()
            await daemon.host.shutdown()
            throw ExitStatus.failed
        }
        let journal = LifecycleJournal(host: daemon.host)
        let control = ControlService(host: daemon.host, hooks: daemon.hooks(defaultProfile: profile), journal: journal)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: SandboxService(host: daemon.host, runtime: daemon.runtime), serviceName: "sessions"),
                .init(service: journal, serviceName: "journal"),
                .init(service: ControlServerService(server: server, service: control), serviceName: "control"),
                .init(service: ReadinessService(notification: ServiceNotification(logger: logger), status: "serving \(path)"),
                      serviceName: "readiness"),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        logger.info("supervisor listening", metadata: ["socket": "\(path)", "pid": "\(getpid())"])
        try await group.run()
        logger.info("every session disposed; bye")
    }
}
