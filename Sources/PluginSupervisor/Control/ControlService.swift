import Foundation
import PluginKit
import PluginSandbox
import PluginWire

/// The commands of the control socket, carried out on a ``SandboxedSessionHost``.
///
/// What depends on the plugin runtime (turning a plugin list into settings, reconciling global
/// settings, the doctor report, what the host's plugins accept) comes in through ``Hooks``, so
/// any host can embed this service. Commands: `ping`, `spawn`, `ls`, `inspect`, `emit`,
/// `request`, `settings`, `dispose`, `kill`, `restart`, `forget`, `prune`, `logs` and `events`
/// (streamed, one JSON record per chunk), `doctor`, `plugins`.
public struct ControlService: Sendable {
    /// What the host provides.
    public struct Hooks: Sendable {
        /// Resolves a profile name to a profile; throws a message naming the problem.
        public var profile: @Sendable (String) throws -> SandboxProfile
        /// Creates a session through the plugin runtime (so it takes part in broadcasts and settings
        /// updates) and returns its id.
        public var spawn: @Sendable (SpawnOptions) async throws -> String
        /// Reconciles the whole runtime (global scope and every session) to a settings document;
        /// returns `{"applied": Bool, "scopes": {scope: {"status": ..., ...}}}`.
        public var applySettings: @Sendable (JSONValue) async throws -> JSONValue
        /// Disposes session `id` through the runtime (it leaves `runtime.sessions`); returns its cause.
        public var dispose: @Sendable (String) async throws -> ExitCause
        /// The doctor report for a profile, as JSON.
        public var doctor: @Sendable (SandboxProfile) -> JSONValue
        /// What the host offers: its plugins and the events and requests they accept, as JSON.
        public var plugins: @Sendable () -> JSONValue
        /// The name of the profile used when `spawn` names none.
        public var defaultProfile: String

        /// Creates hooks.
        public init(
            profile: @escaping @Sendable (String) throws -> SandboxProfile,
            spawn: @escaping @Sendable (SpawnOptions) async throws -> String,
            applySettings: @escaping @Sendable (JSONValue) async throws -> JSONValue,
            dispose: @escaping @Sendable (String) async throws -> ExitCause,
            doctor: @escaping @Sendable (SandboxProfile) -> JSONValue,
            plugins: @escaping @Sendable () -> JSONValue = { .object([:]) },
            defaultProfile: String = "default"
        ) {
            self.profile = profile
            self.spawn = spawn
            self.applySettings = applySettings
            self.dispose = dispose
            self.doctor = doctor
            self.plugins = plugins
            self.defaultProfile = defaultProfile
        }
    }

    /// The sandboxed host the commands act on.
    public let host: SandboxedSessionHost
    /// The host's hooks.
    public let hooks: Hooks
    /// The lifecycle history `events` reads (nil: `events` fails).
    public let journal: LifecycleJournal?

    /// Creates the service.
    public init(host: SandboxedSessionHost, hooks: Hooks, journal: LifecycleJournal? = nil) {
        self.host = host
        self.hooks = hooks
        self.journal = journal
    }

    /// Carries out `request`, replying through `reply` (last reply has `done`).
    public func handle(_ request: ControlRequest, reply: @escaping @Sendable (ControlReply) -> Bool) async {
        do {
            switch request.command {
            case "logs": try await streamLogs(request, reply: reply)
            case "events": try await streamEvents(request, reply: reply)
            default: _ = reply(.success(request.id, try await perform(request.command, Arguments(request.arguments))))
            }
        } catch let failure as ControlFailure {
            _ = reply(.failure(request.id, failure))
        } catch {
            _ = reply(.failure(request.id, ControlFailure(code: "internal", message: "\(error)")))
        }
    }

    private func perform(_ command: String, _ arguments: Arguments) async throws -> JSONValue {
        switch command {
        case "ping":
            var reply: [String: JSONValue] = ["pid": .int(Int64(ProcessInfo.processInfo.processIdentifier)),
                                              "sessions": .int(Int64(host.summaries(includingEnded: false).count))]
            if let limit = host.startLimit, let status = host.startLimitStatus {
                reply["startLimit"] = try JSONValue(encoding: status)
                reply["startLimitRule"] = .string(limit.description)
            }
            return .object(reply)
        case "spawn":
            return try await spawn(arguments)
        case "ls":
            return try JSONValue(encoding: host.summaries(includingEnded: arguments.bool("live") != true))
        case "inspect":
            return try JSONValue(encoding: markingUnengagedResources(try summary(arguments, includingEnded: true)))
        case "emit":
            return try await emit(arguments)
        case "request":
            return try await request(arguments)
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
            let id = try summary(arguments).id.rawValue
            return try JSONValue(encoding: try await hooks.dispose(id))
        case "kill":
            let id = try summary(arguments).id.rawValue
            do {
                return try JSONValue(encoding: try await host.kill(SessionID(id)))
            } catch {
                throw ControlFailure.unknownSession(id)
            }
        case "restart":
            let id = try summary(arguments).id.rawValue
            do {
                try await host.restart(SessionID(id))
            } catch {
                throw ControlFailure(code: "sessionFailed", message: error.message)
            }
            return .object(["id": .string(id)])
        case "forget":
            let id = try arguments.string("id")
            do {
                try host.forget(SessionID(id))
            } catch {
                throw ControlFailure(code: error.code == .unknownSession ? "unknownSession" : "sessionRunning",
                                     message: error.code == .unknownSession ? ControlFailure.unknownSession(id).message : error.message)
            }
            return .object(["id": .string(id)])
        case "prune":
            return .array(host.forgetEndedSessions().map { .string($0.rawValue) })
        case "doctor":
            let name = arguments.optionalString("profile") ?? hooks.defaultProfile
            return hooks.doctor(try profile(name))
        case "plugins":
            return hooks.plugins()
        default:
            throw ControlFailure(code: "unknownCommand", message: "unknown command '\(command)'")
        }
    }

    private func spawn(_ arguments: Arguments) async throws -> JSONValue {
        let document: SandboxProfile?
        let profileName: String
        if let sent = arguments.value("profileDocument") {
            do {
                document = try SandboxProfile.decode(try sent.jsonData())
            } catch {
                throw ControlFailure(code: "badProfile", message: "the profile document: \(error)")
            }
            profileName = document?.name ?? hooks.defaultProfile
        } else {
            document = nil
            profileName = arguments.optionalString("profile") ?? hooks.defaultProfile
            _ = try profile(profileName)
        }
        let restartArgument = arguments.optionalString("restart") ?? "never"
        guard let restart = RestartPolicy(argument: restartArgument) else {
            throw ControlFailure.badArguments("restart policy '\(restartArgument)' is not `never` or `on-crash[:R[/T]]`")
        }
        var options = SpawnOptions(id: arguments.optionalString("id"), plugins: try arguments.strings("plugins") ?? [],
                                   settings: arguments.value("settings"), profile: profileName, restart: restart,
                                   pluginLibraries: try arguments.strings("pluginLibraries") ?? [])
        options.profileDocument = document
        let id: String
        do {
            id = try await hooks.spawn(options)
        } catch let failure as ControlFailure {
            throw failure
        } catch let error as SessionError where error.code == .startLimited {
            throw ControlFailure(code: "startLimited", message: error.message)
        } catch {
            throw ControlFailure(code: "spawnFailed", message: "\(error)")
        }
        guard let summary = host.summary(of: SessionID(id)) else { throw ControlFailure(code: "spawnFailed", message: "session \(id) ended right after it started") }
        return try JSONValue(encoding: summary)
    }

    private func request(_ arguments: Arguments) async throws -> JSONValue {
        let id = try summary(arguments).id.rawValue
        do {
            let response = try await host.request(
                to: SessionID(id), name: try arguments.string("name"), payload: try RawJSON(arguments.value("payload") ?? .object([:])),
                identifier: arguments.optionalString("identifier"), optional: arguments.bool("optional") ?? false)
            if let error = response.error { throw ControlFailure(code: "sessionFailed", message: error.message) }
            return .object(["payload": response.payload.map(JSONValue.init) ?? .null])
        } catch let failure as ControlFailure {
            throw failure
        } catch {
            throw ControlFailure(code: "sessionFailed", message: "\(error)")
        }
    }

    private func emit(_ arguments: Arguments) async throws -> JSONValue {
        let event = try arguments.string("event")
        let payload = try RawJSON(arguments.value("payload") ?? .object([:]))
        let identifier = arguments.optionalString("identifier")
        var results: [(SessionID, Result<EmitResult, SessionError>)] = []
        if arguments.bool("all") == true {
            results = await host.broadcast(event: event, payload: payload, identifier: identifier)
        } else {
            let ids = try arguments.strings("ids") ?? [try arguments.string("id")]
            for id in ids {
                guard let summary = host.summary(of: SessionID(id)), summary.state != "ended", summary.state != "crashed" else {
                    results.append((SessionID(id), .failure(SessionError(code: .unknownSession, sessionID: id, message: ControlFailure.unknownSession(id).message))))
                    continue
                }
                do {
                    results.append((SessionID(id), .success(try await host.emit(to: SessionID(id), event: event, payload: payload, identifier: identifier))))
                } catch {
                    results.append((SessionID(id), .failure(error)))
                }
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
                let status = error.code == .sessionDead ? "dead" : (error.code == .unknownSession ? "unknown" : "error")
                report[id.rawValue] = .object(["status": .string(status), "error": .string(error.message)])
            }
        }
        return .object(report)
    }

    /// Streams the session's log entries (each chunk one JSON ``SessionLogEntry``): the last
    /// `tail` of those newer than `sinceSeconds`, then, with `follow`, new ones until the session ends.
    private func streamLogs(_ request: ControlRequest, reply: @escaping @Sendable (ControlReply) -> Bool) async throws {
        let arguments = Arguments(request.arguments)
        let id = try summary(arguments, includingEnded: true).id
        guard let log = host.log(of: id) else { throw ControlFailure.unknownSession(id.rawValue) }
        let follow = (arguments.bool("follow") ?? false) && host.summary(of: id).map { $0.state != "ended" && $0.state != "crashed" } == true
        let stream = follow ? log.follow() : nil
        var entries = log.entries
        if let since = arguments.double("sinceSeconds") {
            let cutoff = Date().addingTimeInterval(-since)
            entries = entries.filter { $0.time >= cutoff }
        }
        if let tail = arguments.int("tail") { entries = Array(entries.suffix(max(0, tail))) }
        for entry in entries {
            if !reply(.chunk(request.id, try Self.chunk(entry))) { return }
        }
        if let stream {
            for await entry in stream {
                if !reply(.chunk(request.id, try Self.chunk(entry))) { return }
            }
        }
        _ = reply(.success(request.id, .null))
    }

    /// Streams the lifecycle records (each chunk one JSON ``LifecycleRecord``) newer than
    /// `sinceSeconds`, then, with `follow`, new ones until the client leaves or the journal stops.
    private func streamEvents(_ request: ControlRequest, reply: @escaping @Sendable (ControlReply) -> Bool) async throws {
        guard let journal else { throw ControlFailure(code: "unsupported", message: "this supervisor keeps no lifecycle journal") }
        let arguments = Arguments(request.arguments)
        let (past, future) = journal.follow()
        let cutoff = arguments.double("sinceSeconds").map { Date().addingTimeInterval(-$0) }
        for record in past where cutoff.map({ record.time >= $0 }) ?? true {
            if !reply(.chunk(request.id, try Self.chunk(record))) { return }
        }
        if arguments.bool("follow") == true {
            for await record in future {
                if !reply(.chunk(request.id, try Self.chunk(record))) { return }
            }
        }
        _ = reply(.success(request.id, .null))
    }

    /// Adds a DEGRADED line when the session's profile asks for cgroup limits that no cgroup
    /// enforces (the supervisor has no cgroup controller; memory is then watched by sampling).
    private func markingUnengagedResources(_ summary: SessionSummary) -> SessionSummary {
        guard summary.resources == nil, summary.pid != nil, let resources = host.profile(of: summary.id)?.resources,
              resources.memoryBytes != nil || resources.cpuPercent != nil || resources.cpuWeight != nil || resources.pids != nil
        else { return summary }
        var marked = summary
        marked.sandboxLayers.append("cgroup: DEGRADED: the profile's resource limits are not engaged (the supervisor has no cgroup controller; memory is watched by sampling)")
        return marked
    }

    private static func chunk(_ value: some Encodable) throws -> String {
        String(decoding: try JSONValue(encoding: value).jsonData(), as: UTF8.self)
    }

    private func summary(_ arguments: Arguments, includingEnded: Bool = false) throws -> SessionSummary {
        let id = try arguments.string("id")
        guard let summary = host.summary(of: SessionID(id)) else { throw ControlFailure.unknownSession(id) }
        if !includingEnded, summary.state == "ended" || summary.state == "crashed" {
            throw ControlFailure(code: "sessionEnded", message: "session '\(id)' has ended (\(summary.lastCause?.description ?? summary.state)); `sandboxctl rm \(id)` forgets it")
        }
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

    func int(_ key: String) -> Int? {
        switch fields[key] {
        case .int(let value)?: return Int(value)
        case .double(let value)? where value == value.rounded(): return Int(value)
        default: return nil
        }
    }

    func double(_ key: String) -> Double? {
        switch fields[key] {
        case .int(let value)?: return Double(value)
        case .double(let value)?: return value
        default: return nil
        }
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
    /// The profile name (the document's name when ``profileDocument`` is set).
    public var profile: String
    /// A profile document sent by the client, validated; when set, the session runs under it.
    public var profileDocument: SandboxProfile?
    /// The restart policy.
    public var restart: RestartPolicy
    /// Plugin libraries whose session plugins join the session, in their command-line form
    /// (`PATH` or `PATH@sha256:HEX`; see `PluginLibraryReference.init(argument:)` in PluginSandbox).
    public var pluginLibraries: [String]
}
