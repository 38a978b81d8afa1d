import ArgumentParser
import Dispatch
import Foundation

/// The `sandboxctl` command line, embeddable by any host with its own plugins.
public enum SandboxCLI {
    /// Parses the process arguments and runs the command for `host`; never returns.
    ///
    /// Call after `WorkerBootstrap.start`, so that a zygote forked from the still single-threaded
    /// process serves the spawns.
    public static func run(host: SandboxHost) -> Never {
        SandboxHost.install(host)
        Task {
            await SandboxCommand.main()
            exit(0)
        }
        dispatchMain()
    }
}

/// The root command.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandboxctl",
        abstract: "Run untrusted plugins in sandboxed sessions, and operate the supervisor.",
        discussion: """
            A supervisor (`sandboxctl serve`) owns the global plugins; every session runs in its own \
            worker process, confined by seccomp, Landlock and rlimits. The other commands talk to a \
            running supervisor over its control socket.

            Exit codes: 0 success · 1 the command failed (unknown session, refused settings, ...) · \
            64 usage error · 69 no supervisor running · 77 permission denied.
            """,
        subcommands: [
            DemoCommand.self, ServeCommand.self, SpawnCommand.self, ListCommand.self, InspectCommand.self, EmitCommand.self,
            RequestCommand.self, SettingsCommand.self, DisposeCommand.self, KillCommand.self, LogsCommand.self, TopCommand.self,
            DoctorCommand.self, ProfileCommand.self, FaultsCommand.self, SoakCommand.self,
        ])
}
