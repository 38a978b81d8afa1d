import Foundation
import Logging
import PluginKit
import PluginSandbox
import PluginSupervisor
import PluginWire

/// A running supervisor: the plugin runtime with sandboxed sessions, for `serve`, `demo` and `soak`.
struct Daemon {
    let runtime: PluginRuntime
    let host: SandboxedSessionHost
    let description: SandboxHost

    /// Runs `body` with a runtime whose sessions are sandboxed, the host's service running beside it;
    /// disposes every session and stops the service when `body` ends.
    static func with<Result: Sendable>(
        _ description: SandboxHost, settings: RuntimeSettings = RuntimeSettings(), logger: Logger,
        _ body: (Daemon) async throws -> Result
    ) async throws -> Result {
        var sandbox = description.sandbox
        sandbox.configuration.logger = logger
        return try await sandbox.withRuntime(globalPlugins: description.globalPlugins(), settings: settings) { runtime, host in
            try await body(Daemon(runtime: runtime, host: host, description: description))
        }
    }

    /// The control service's hooks for this runtime.
    var hooks: ControlService.Hooks {
        let runtime = self.runtime
        let description = self.description
        return ControlService.Hooks(
            profile: { name in try description.profile(name) },
            spawn: { options in
                var settings = runtime.settings
                if let document = options.settings {
                    settings = try document.decode(as: RuntimeSettings.self)
                    try settings.validate()
                }
                let known = Set(description.sessionPlugins.pluginIDs)
                if !options.plugins.isEmpty {
                    for plugin in options.plugins where !known.contains(PluginId(plugin)) {
                        throw ControlFailure.badArguments("unknown plugin '\(plugin)'; this host offers \(known.map(\.rawValue).sorted().joined(separator: ", "))")
                    }
                    for id in known { settings.plugins[id, default: PluginConfig()].enabled = options.plugins.contains(id.rawValue) }
                }
                guard let restart = RestartPolicy(argument: options.restart) else {
                    throw ControlFailure.badArguments("restart policy '\(options.restart)' is not `never` or `on-crash[:R[/T]]`")
                }
                let session = try await runtime.createSession(
                    id: options.id.map { SessionID($0) }, settings: settings,
                    options: SandboxSessionOptions(profile: options.profile, restart: restart,
                                                   pluginLibraries: options.pluginLibraries.map(PluginLibraryReference.init(argument:))))
                return session.id.rawValue
            },
            applySettings: { document in
                let settings = try document.decode(as: RuntimeSettings.self)
                let reports = try await runtime.updateSettings(settings)
                var result: [String: JSONValue] = [:]
                for (scope, report) in reports {
                    result[scope] = .object([
                        "attached": .array(report.attached.sorted().map { .string($0.rawValue) }),
                        "detached": .array(report.detached.sorted().map { .string($0.rawValue) }),
                        "changed": .array(report.changed.sorted().map { .string($0.rawValue) }),
                    ])
                }
                return .object(result)
            },
            dispose: { id in
                guard let session = runtime.session(SessionID(id)) else { throw ControlFailure.unknownSession(id) }
                try await session.dispose()
                return .disposed
            },
            doctor: { profile in Self.doctorReport(profile) })
    }
}

extension Daemon {
    /// The doctor report for `profile` as JSON.
    static func doctorReport(_ profile: SandboxProfile) -> JSONValue {
        (try? JSONValue(encoding: SandboxDoctor.report(profile: profile))) ?? .null
    }
}
