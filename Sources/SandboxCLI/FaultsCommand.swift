import ArgumentParser
import FaultPlugins

/// `sandboxctl faults`: the faults the fault plugin can inject.
struct FaultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults",
        abstract: "List the faults the `fault` plugin injects (emit InjectFault {\"kind\": NAME} into a session).")

    func run() {
        for kind in FaultPlugin.kinds { print(kind) }
    }
}

/// `sandboxctl top`: the session table, refreshed.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "top", abstract: "A live table of the sessions, refreshed every second until Ctrl-C.")
    @OptionGroup var socket: SocketOptions
    @Flag(help: "Print one frame and exit.") var once = false
    @Option(help: "Seconds between frames.") var interval: Double = 1

    func run() throws {
        repeat {
            let result = try call(socket, "ls")
            let summaries = try result.decode(as: [PluginSupervisorSummaries].self)
            if !once { print("\u{1B}[2J\u{1B}[H", terminator: "") }
            print(renderSessions(summaries))
            if once { return }
            Thread.sleep(forTimeInterval: interval)
        } while true
    }
}

import Foundation
import PluginSupervisor
typealias PluginSupervisorSummaries = SessionSummary
