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

    /// Builds the host and the runtime (the host's service is not running yet: run
    /// ``SandboxService`` in a group, or use ``with(_:settings:logger:_:)``).
    static func make(_ description: SandboxHost, settings: RuntimeSettings = RuntimeSettings(), logger: Logger,
                     adjust: (inout SandboxConfiguration) -> Void = { _ in }) async throws -> Daemon {
        var sandbox = description.sandbox
        sandbox.configuration.logger = logger
        adjust(&sandbox.configuration)
        let host = try sandbox.makeHost()
        let runtime = try await PluginRuntime(globalPlugins: description.globalPlugins(), sessionPlugins: sandbox.sessionPlugins,
                                              settings: settings, host: host, logger: logger)
        return Daemon(runtime: runtime, host: host, description: description)
    }

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
    func hooks(defaultProfile: String) -> ControlService.Hooks {
        let runtime = self.runtime
        let description = self.description
        return ControlService.Hooks(
            profile: { name in try description.profile(name) },
            spawn: { options in try await Self.spawn(options, runtime: runtime, description: description) },
            applySettings: { document in try await Self.apply(document, runtime: runtime) },
            dispose: { id in
                guard let session = runtime.session(SessionID(id)) else { throw ControlFailure.unknownSession(id) }
                try await session.dispose()
                return .disposed
            },
            doctor: { profile in Self.doctorReport(profile) },
            plugins: { Self.offer(description, runtime: runtime) },
            defaultProfile: defaultProfile)
    }

    /// Creates a session. It gets settings of its own only when the operator gave some
    /// (`--settings`, `--plugin`); otherwise it follows the runtime's settings like any other.
    private static func spawn(_ options: SpawnOptions, runtime: PluginRuntime, description: SandboxHost) async throws -> String {
        var settings: RuntimeSettings?
        if let document = options.settings {
            do {
                let decoded = try document.decode(as: RuntimeSettings.self)
                try decoded.validate()
                settings = decoded
            } catch {
                throw ControlFailure(code: "badSettings", message: "the session's settings: \(error)")
            }
        }
        let known = Set(description.sessionPlugins.pluginIDs)
        if !options.plugins.isEmpty {
            for plugin in options.plugins where !known.contains(PluginID(plugin)) {
                throw ControlFailure.badArguments("unknown plugin '\(plugin)' (--plugin); this host's session plugins: \(known.map(\.rawValue).sorted().joined(separator: ", "))")
            }
            var chosen = settings ?? runtime.settings
            for id in known { chosen.plugins[id, default: PluginConfig()].enabled = options.plugins.contains(id.rawValue) }
            settings = chosen
        }
        var sessionOptions = SandboxSessionOptions(profile: options.profile, restart: options.restart,
                                                   pluginLibraries: options.pluginLibraries.map(PluginLibraryReference.init(argument:)))
        sessionOptions.profileDocument = options.profileDocument
        let session = try await runtime.createSession(id: options.id.map { SessionID($0) }, settings: settings, options: sessionOptions)
        return session.id.rawValue
    }

    /// Reconciles every scope to `document`; on a refusal, every scope is back where it was and
    /// the report says which scope refused and why.
    private static func apply(_ document: JSONValue, runtime: PluginRuntime) async throws -> JSONValue {
        let settings: RuntimeSettings
        do {
            settings = try document.decode(as: RuntimeSettings.self)
            try settings.validate()
        } catch {
            throw ControlFailure(code: "badSettings", message: "\(error)")
        }
        let sessions = runtime.sessions.map(\.id.rawValue)
        do {
            let reports = try await runtime.updateSettings(settings)
            var scopes: [String: JSONValue] = [:]
            for (scope, report) in reports {
                scopes[scope] = .object([
                    "status": .string("reconciled"),
                    "attached": .array(report.attached.sorted().map { .string($0.rawValue) }),
                    "detached": .array(report.detached.sorted().map { .string($0.rawValue) }),
                    "changed": .array(report.changed.sorted().map { .string($0.rawValue) }),
                ])
            }
            return .object(["applied": .bool(true), "scopes": .object(scopes)])
        } catch let error as SessionError {
            return refusal(by: error.sessionID, reason: error.message, sessions: sessions)
        } catch let error as RuntimeError {
            throw ControlFailure(code: "settingsRefused", message: "\(error)")
        } catch let error as SettingsError {
            throw ControlFailure(code: "badSettings", message: "\(error)")
        } catch let error as UnknownReferenceError {
            throw ControlFailure(code: "badSettings", message: "\(error)")
        } catch {
            return refusal(by: "global", reason: "\(error)", sessions: sessions)
        }
    }

    private static func refusal(by refusing: String, reason: String, sessions: [String]) -> JSONValue {
        var scopes: [String: JSONValue] = [:]
        for scope in ["global"] + sessions {
            scopes[scope] = scope == refusing
                ? .object(["status": .string("refused"), "reason": .string(reason)])
                : .object(["status": .string("rolledBack")])
        }
        return .object(["applied": .bool(false), "refusedBy": .string(refusing), "scopes": .object(scopes)])
    }

    /// What the host offers: global and session plugins, and what they accept on the wire.
    static func offer(_ description: SandboxHost, runtime: PluginRuntime?) -> JSONValue {
        let global = description.globalPlugins().map(\.id.rawValue)
        let attached = runtime.map { Set($0.attachedPlugins.map(\.rawValue)) }
        let offer = PluginOffer(
            globalPlugins: global.map { id in PluginOffer.Plugin(id: id, attached: attached.map { $0.contains(id) }) },
            sessionPlugins: description.sessionPlugins.pluginIDs.map { PluginOffer.Plugin(id: $0.rawValue, attached: nil) },
            messages: description.interface.entries)
        return (try? JSONValue(encoding: offer)) ?? .null
    }
}

/// The `plugins` answer.
struct PluginOffer: Codable {
    struct Plugin: Codable {
        var id: String
        /// Whether a global plugin is attached now (nil for session plugins, which attach per session).
        var attached: Bool?
    }

    struct Message: Codable {
        var kind: String
        var name: String
        var scope: String
        var plugins: [String]
        var fields: [Field]
        var response: String?
        var summary: String
    }

    struct Field: Codable {
        var name: String
        var type: String
        var optional: Bool
    }

    var globalPlugins: [Plugin]
    var sessionPlugins: [Plugin]
    var messages: [Message]

    init(globalPlugins: [Plugin], sessionPlugins: [Plugin], messages: [WireInterface.Entry]) {
        self.globalPlugins = globalPlugins
        self.sessionPlugins = sessionPlugins
        self.messages = messages.map { entry in
            Message(kind: entry.kind.rawValue, name: entry.name, scope: entry.scope.rawValue, plugins: entry.plugins,
                    fields: entry.fields.map { Field(name: $0.name, type: $0.type.description, optional: $0.optional) },
                    response: entry.response?.description, summary: entry.summary)
        }
    }
}

extension Daemon {
    /// The doctor report for `profile` as JSON.
    static func doctorReport(_ profile: SandboxProfile) -> JSONValue {
        (try? JSONValue(encoding: SandboxDoctor.report(profile: profile))) ?? .null
    }
}
