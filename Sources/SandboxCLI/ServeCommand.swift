import ArgumentParser
import Dispatch
import Foundation
import Logging
import PluginKit
import PluginSupervisor
import PluginWire

/// `sandboxctl serve`: the supervisor in the foreground, with its control socket.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the supervisor in the foreground, serving the control socket until SIGTERM or SIGINT.")

    @OptionGroup var socket: SocketOptions
    @Option(help: "A RuntimeSettings JSON file for the global scope and new sessions.")
    var settings: String?
    @Option(help: "The profile sessions get when `spawn` names none.")
    var profile: String = "default"
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical") }
    }

    func run() async throws {
        let host = try SandboxHost.shared
        let level = Logger.Level(rawValue: logLevel) ?? .info
        var logger = Logger(label: "sandboxctl") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        logger.logLevel = level
        var initial = RuntimeSettings()
        if let settings {
            do {
                initial = try parsePayload("@" + settings).decode(as: RuntimeSettings.self)
                try initial.validate()
            } catch {
                printError("settings file \(settings): \(error)")
                throw ExitStatus.failed
            }
        }
        do {
            _ = try host.profile(profile)
        } catch {
            printError("profile \(profile): \(error)")
            throw ExitStatus.failed
        }
        try await Daemon.with(host, settings: initial, logger: logger) { daemon in
            var hooks = daemon.hooks
            hooks.defaultProfile = profile
            let server: ControlServer
            do {
                server = try await daemon.host.openControlSocket(at: socket.path)
            } catch {
                printError("\(error)")
                throw ExitStatus.failed
            }
            let service = ControlService(host: daemon.host, hooks: hooks)
            logger.info("supervisor listening", metadata: ["socket": "\(socket.path)", "pid": "\(getpid())"])
            await withDiscardingTaskGroup { group in
                group.addTask { await server.run { request, _, reply in await service.handle(request, reply: reply) } }
                let signal = await Self.waitForTermination()
                logger.notice("shutting down", metadata: ["signal": "\(signal)"])
                await server.close()
            }
        }
        logger.info("every session disposed; bye")
    }

    /// Waits for SIGTERM or SIGINT; returns which.
    static func waitForTermination() async -> Int32 {
        await withCheckedContinuation { continuation in
            let once = OnceFlag()
            for number in [SIGTERM, SIGINT] {
                Foundation.signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    if once.claim() { continuation.resume(returning: number) }
                }
                source.resume()
                SignalSources.keep(source)
            }
        }
    }
}

/// True exactly once.
final class OnceFlag: Sendable {
    private let flag = Mutex(false)
    func claim() -> Bool { flag.withLock { claimed in defer { claimed = true }; return !claimed } }
}

/// Keeps signal sources alive for the process's life.
enum SignalSources {
    private static let count = Mutex(0)
    static func keep(_ source: any DispatchSourceSignal) {
        // Retained on purpose: a signal source must outlive the wait, and the process ends after it.
        _ = Unmanaged.passRetained(source as AnyObject)
        count.withLock { $0 += 1 }
    }
}

import Synchronization
