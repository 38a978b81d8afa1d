import Foundation
import PluginKit
import PluginSandbox
import PluginWire

/// The commands of the control socket, carried out on a ``SandboxedSessionHost``.
///
/// What depends on the plugin runtime (turning a plugin list into settings, reconciling global
/// settings, the doctor report) comes in through ``Hooks``, so any host can embed this service.
public struct ControlService: Sendable {
    /// What the host provides.
    public struct Hooks: Sendable {
        /// Resolves a profile name (or path) to a profile; throws a message naming the problem.
        public var profile: @Sendable (String) throws -> SandboxProfile
        /// Creates a session through the plugin runtime (so it takes part in broadcasts and settings
        /// updates) and returns its id.
        public var spawn: @Sendable (SpawnOptions) async throws -> String
        /// Reconciles the whole runtime (global scope and every session) to a settings document.
        public var applySettings: @Sendable (JSONValue) async throws -> JSONValue
        /// Disposes session `id` through the runtime (it leaves `runtime.sessions`); returns its cause.
        public var dispose: @Sendable (String) async throws -> ExitCause
        /// The doctor report for a profile, as JSON.
        public var doctor: @Sendable (SandboxProfile) -> JSONValue
        /// The name of the profile used when `spawn` names none.
        public var defaultProfile: String

        /// Creates hooks.
        public init(
            profile: @escaping @Sendable (String) throws -> SandboxProfile,
            spawn: @escaping @Sendable (SpawnOptions) async throws -> String,
            applySettings: @escaping @Sendable (JSONValue) async throws -> JSONValue,
            dispose: @escaping @Sendable (String) async throws -> ExitCause,
            doctor: @escaping @Sendable (SandboxProfile) -> JSONValue,
            defaultProfile: String = "default"
        ) {
            self.profile = profile
            self.spawn = spawn
            self.applySettings = applySettings
            self.dispose = dispose
            self.doctor = doctor
            self.defaultProfile = defaultProfile
        }
    }

    /// The sandboxed host the commands act on.
    public let host: SandboxedSessionHost
    /// The host's hooks.
    public let hooks: Hooks

    /// Creates the service.
    public init(host: SandboxedSessionHost, hooks: Hooks) {
        self.host = host
        self.hooks = hooks
    }

    /// Carries out `request`, replying through `reply` (last reply has `done`).
    public func handle(_ request: ControlRequest, reply: @escaping @Sendable (ControlReply) -> Bool) async {
        do {
            if request.command == "logs" {
                try await streamLogs(request, reply: reply)
                return
            }
            let result = try await perform(request.command, Arguments(request.arguments))
            _ = reply(.success(request.id, result))
        } catch let failure as ControlFailure {
            _ = reply(.failure(request.id, failure))
        } catch {
            _ = reply(.failure(request.id, ControlFailure(code: "internal", message: "\(error)")))
        }
    }

    private func perform(_ command: String, _ arguments: Arguments) async throws -> JSONValue {
        switch command {
        case "ping":
            return .object(["pid": .int(Int64(ProcessInfo.processInfo.processIdentifier)), "sessions": .int(Int64(host.summaries(includingEnded: false).count))])
        case "spawn":
            return try await spawn(arguments)
        case "ls":
            return try JSONValue(encoding: host.summaries(includingEnded: arguments.bool("live") != true))
        case "inspect":
            return try JSONValue(encoding: try summary(arguments, includingEnded: true))
        case "emit":
            return try await emit(arguments)
        case "request":
            let id = try summary(arguments).id
            do {
                let response = try await host.request(
                    to: SessionID(id), name: try arguments.string("name"), payload: try RawJSON(arguments.value("payload") ?? .null),
                    identifier: arguments.optionalString("identifier"), optional: arguments.bool("optional") ?? false)
                if let error = response.error { throw ControlFailure(code: "sessionFailed", message: error.message) }
                return .object(["payload": response.payload.map(JSONValue.init) ?? .null])
            } catch let failure as ControlFailure {
                throw failure
            } catch {
                throw ControlFailure(code: "sessionFailed", message: "\(error)")
            }
        case "settings":
            guard let settings = arguments.value("settings") else { throw ControlFailure.badArguments("settings needs a `settings` document") }
            do {
                return try await hooks.applySettings(settings)
            } catch let failure as ControlFailure {
                throw failure
            } catch {
                throw ControlFailure(code: "badSettings", message: "\(error)")
            }
        case "dispose":
            let id = try summary(arguments).id
            return try JSONValue(encoding: try await hooks.dispose(id))
        case "kill":
            let id = try summary(arguments).id
            do {
                return try JSONValue(encoding: try await host.kill(SessionID(id)))
            } catch {
                throw ControlFailure.unknownSession(id)
            }
        case "doctor":
            let name = arguments.optionalString("profile") ?? hooks.defaultProfile
            return hooks.doctor(try profile(name))
        default:
            throw ControlFailure(code: "unknownCommand", message: "unknown command '\(command)'")
        }
    }

    private func spawn(_ arguments: Arguments) async throws -> JSONValue {
        let profileName = arguments.optionalString("profile") ?? hooks.defaultProfile
        _ = try profile(profileName)
        let restart = arguments.optionalString("restart") ?? "never"
        guard RestartPolicy(argument: restart) != nil else {
            throw ControlFailure.badArguments("restart policy '\(restart)' is not `never` or `on-crash[:R[/T]]`")
        }
        let options = SpawnOptions(id: arguments.optionalString("id"), plugins: try arguments.strings("plugins") ?? [],
                                   settings: arguments.value("settings"), profile: profileName, restart: restart,
                                   pluginLibraries: try arguments.strings("pluginLibraries") ?? [])
        let id: String
        do {
            id = try await hooks.spawn(options)
        } catch let failure as ControlFailure {
            throw failure
        } catch {
            throw ControlFailure(code: "spawnFailed", message: "\(error)")
        }
        guard let summary = host.summary(of: SessionID(id)) else { throw ControlFailure(code: "spawnFailed", message: "session \(id) ended right after it started") }
        return try JSONValue(encoding: summary)
    }

    private func emit(_ arguments: Arguments) async throws -> JSONValue {
        let event = try arguments.string("event")
        let payload = try RawJSON(arguments.value("payload") ?? .object([:]))
        let identifier = arguments.optionalString("identifier")
        let results: [(SessionID, Result<EmitResult, SessionError>)]
        if arguments.bool("all") == true {
            results = await host.broadcast(event: event, payload: payload, identifier: identifier)
        } else {
            let id = SessionID(try summary(arguments).id)
            do {
                results = [(id, .success(try await host.emit(to: id, event: event, payload: payload, identifier: identifier)))]
            } catch {
                results = [(id, .failure(error))]
            }
        }
        var report: [String: JSONValue] = [:]
        for (id, result) in results {
            switch result {
            case .success(let outcome) where outcome.error != nil:
                report[id.rawValue] = .object(["status": .string("error"), "error": .string(outcome.error?.message ?? "")])
            case .success(let outcome):
                let status = outcome.stopped ? "stopped" : (outcome.handled == 0 ? "unhandled" : "delivered")
                report[id.rawValue] = .object([
                    "status": .string(status), "handled": .int(Int64(outcome.handled)),
                    "payload": JSONValue(outcome.payload ?? payload),
                ])
            case .failure(let error):
                report[id.rawValue] = .object([
                    "status": .string(error.code == .sessionDead ? "dead" : "error"),
                    "error": .string(error.message),
                ])
            }
        }
        return .object(report)
    }

    private func streamLogs(_ request: ControlRequest, reply: @escaping @Sendable (ControlReply) -> Bool) async throws {
        let arguments = Arguments(request.arguments)
        let id = SessionID(try summary(arguments, includingEnded: true).id)
        guard let log = host.log(of: id) else { throw ControlFailure.unknownSession(id.rawValue) }
        let follow = (arguments.bool("follow") ?? false) && host.summary(of: id).map { !$0.state.hasSuffix("ended") && $0.state != "crashed" } == true
        let stream = follow ? log.follow() : nil
        for entry in log.entries {
            if !reply(.chunk(request.id, Self.line(entry))) { return }
        }
        if let stream {
            for await entry in stream {
                if !reply(.chunk(request.id, Self.line(entry))) { return }
            }
        }
        _ = reply(.success(request.id, .null))
    }

    private static func line(_ entry: SessionLogEntry) -> String {
        let level = entry.level.map { " \($0)" } ?? ""
        return "\(entry.time.formatted(.iso8601)) \(entry.source.rawValue)\(level): \(entry.text)\n"
    }

    private func summary(_ arguments: Arguments, includingEnded: Bool = false) throws -> SessionSummary {
        let id = try arguments.string("id")
        guard let summary = host.summary(of: SessionID(id)) else { throw ControlFailure.unknownSession(id) }
        if !includingEnded, summary.state == "ended" || summary.state == "crashed" { throw ControlFailure.unknownSession(id) }
        return summary
    }

    private func profile(_ name: String) throws -> SandboxProfile {
        do {
            return try hooks.profile(name)
        } catch let failure as ControlFailure {
            throw failure
        } catch {
            throw ControlFailure(code: "badProfile", message: "profile '\(name)': \(error)")
        }
    }
}

/// Typed access to a command's JSON arguments, with errors naming the argument.
struct Arguments {
    let fields: [String: JSONValue]

    init(_ value: JSONValue) {
        if case .object(let fields) = value { self.fields = fields } else { self.fields = [:] }
    }

    func value(_ key: String) -> JSONValue? {
        guard let value = fields[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws -> String {
        guard let value = optionalString(key) else { throw ControlFailure.badArguments("missing argument `\(key)`") }
        return value
    }

    func optionalString(_ key: String) -> String? {
        if case .string(let text)? = fields[key] { return text }
        return nil
    }

    func bool(_ key: String) -> Bool? {
        if case .bool(let flag)? = fields[key] { return flag }
        return nil
    }

    func strings(_ key: String) throws -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else { throw ControlFailure.badArguments("argument `\(key)` must be a list of strings") }
        return try items.map { item in
            guard case .string(let text) = item else { throw ControlFailure.badArguments("argument `\(key)` must be a list of strings") }
            return text
        }
    }
}

/// What `spawn` asks for.
public struct SpawnOptions: Sendable {
    /// The session id, or nil for a fresh one.
    public var id: String?
    /// Session plugins to enable (empty: as the settings say).
    public var plugins: [String]
    /// A RuntimeSettings document for the session.
    public var settings: JSONValue?
    /// The profile name or path.
    public var profile: String
    /// The restart policy, in its command-line form.
    public var restart: String
    /// Plugin libraries whose session plugins join the session, in their command-line form
    /// (`PATH` or `PATH@sha256:HEX`; see ``PluginLibraryReference/init(argument:)``).
    public var pluginLibraries: [String]
}
