import Foundation
import PluginSandbox
import PluginWire

/// The commands of the control socket, carried out on a ``Supervisor``.
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
        /// The doctor report for a profile, as JSON.
        public var doctor: @Sendable (SandboxProfile) -> JSONValue
        /// The name of the profile used when `spawn` names none.
        public var defaultProfile: String

        /// Creates hooks.
        public init(
            profile: @escaping @Sendable (String) throws -> SandboxProfile,
            spawn: @escaping @Sendable (SpawnOptions) async throws -> String,
            applySettings: @escaping @Sendable (JSONValue) async throws -> JSONValue,
            doctor: @escaping @Sendable (SandboxProfile) -> JSONValue,
            defaultProfile: String = "default"
        ) {
            self.profile = profile
            self.spawn = spawn
            self.applySettings = applySettings
            self.doctor = doctor
            self.defaultProfile = defaultProfile
        }
    }

    /// The supervisor the commands act on.
    public let supervisor: Supervisor
    /// The host's hooks.
    public let hooks: Hooks

    /// Creates the service.
    public init(supervisor: Supervisor, hooks: Hooks) {
        self.supervisor = supervisor
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
            return .object(["pid": .int(Int64(ProcessInfo.processInfo.processIdentifier)), "sessions": .int(Int64(supervisor.sessions.count))])
        case "spawn":
            return try await spawn(arguments)
        case "ls":
            let ended = arguments.bool("live") == true ? [] : supervisor.endedSessions.map(\.summary)
            return try JSONValue(encoding: ended + supervisor.sessions.map(\.summary))
        case "inspect":
            return try JSONValue(encoding: try session(arguments, includingEnded: true).summary)
        case "emit":
            return try await emit(arguments)
        case "request":
            let session = try session(arguments)
            do {
                let answer = try await session.request(
                    name: try arguments.string("name"), payload: arguments.value("payload") ?? .null,
                    identifier: arguments.optionalString("identifier"), optional: arguments.bool("optional") ?? false)
                return .object(["payload": answer ?? .null])
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
            let cause = try await session(arguments).dispose()
            return try JSONValue(encoding: cause)
        case "kill":
            let cause = try await session(arguments).kill()
            return try JSONValue(encoding: cause)
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
                                   settings: arguments.value("settings"), profile: profileName, restart: restart)
        let id: String
        do {
            id = try await hooks.spawn(options)
        } catch let failure as ControlFailure {
            throw failure
        } catch {
            throw ControlFailure(code: "spawnFailed", message: "\(error)")
        }
        guard let session = supervisor.session(id) else { throw ControlFailure(code: "spawnFailed", message: "session \(id) ended right after it started") }
        return try JSONValue(encoding: session.summary)
    }

    private func emit(_ arguments: Arguments) async throws -> JSONValue {
        let event = try arguments.string("event")
        let payload = arguments.value("payload") ?? .object([:])
        let identifier = arguments.optionalString("identifier")
        let results: [String: Result<EmitOutcome, SessionError>]
        if arguments.bool("all") == true {
            results = await supervisor.broadcast(event: event, payload: payload, identifier: identifier)
        } else {
            let session = try session(arguments)
            do {
                results = [session.id: .success(try await session.emit(event: event, payload: payload, identifier: identifier))]
            } catch {
                results = [session.id: .failure(error)]
            }
        }
        var report: [String: JSONValue] = [:]
        for (id, result) in results {
            switch result {
            case .success(let envelope):
                report[id] = .object(["status": .string(envelope.stopped ? "stopped" : "delivered"), "payload": envelope.payload])
            case .failure(let error):
                report[id] = .object([
                    "status": .string(error.code == .sessionDead ? "dead" : "error"),
                    "error": .string(error.message),
                ])
            }
        }
        return .object(report)
    }

    private func streamLogs(_ request: ControlRequest, reply: @escaping @Sendable (ControlReply) -> Bool) async throws {
        let arguments = Arguments(request.arguments)
        let session = try session(arguments, includingEnded: true)
        let follow = (arguments.bool("follow") ?? false) && supervisor.session(session.id) != nil
        let stream = follow ? session.output.follow() : nil
        let kept = session.output.text
        if !kept.isEmpty, !reply(.chunk(request.id, kept)) { return }
        if let stream {
            for await chunk in stream {
                if !reply(.chunk(request.id, String(decoding: chunk, as: UTF8.self))) { return }
            }
        }
        _ = reply(.success(request.id, .null))
    }

    private func session(_ arguments: Arguments, includingEnded: Bool = false) throws -> SandboxedSession {
        let id = try arguments.string("id")
        guard let session = includingEnded ? supervisor.anySession(id) : supervisor.session(id) else { throw ControlFailure.unknownSession(id) }
        return session
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
}
