import Foundation
import Logging
import PluginBridge
import PluginKit
import PluginSandbox
import PluginWire
import Synchronization

/// The session scope inside a confined worker, bridged to the session socket.
///
/// Runs the seven steps of a session when the supervisor's welcome arrives, answers the
/// supervisor's emits, requests, settings and pings, and sends the plugins' `globalBus` traffic
/// up. Nothing here trusts the supervisor less than itself, but everything that fails is reported
/// as a ``WireFailure``, never as a crash.
final class WorkerSession: Sendable {
    private enum Phase {
        case greeting
        case building
        case running(SessionScope)
        case disposing
    }

    private let context: WorkerContext
    private let catalog: SessionPluginCatalog
    private let channel: WorkerChannel
    private let inFlight = InFlightTable()
    private let phase = Mutex<Phase>(.greeting)
    private let logger: Logger
    private let contextFactory: @Sendable (SessionID) -> ContextValues

    init(context: WorkerContext, catalog: SessionPluginCatalog, channel: WorkerChannel,
         contextFactory: @escaping @Sendable (SessionID) -> ContextValues) {
        self.context = context
        self.contextFactory = contextFactory
        self.catalog = catalog
        self.channel = channel
        let channelForLogs = channel
        self.logger = Logger(label: "plugin-worker") { _ in WireLogHandler(channel: channelForLogs) }
    }

    /// Introduces the worker to the supervisor.
    func greet() {
        channel.send(.hello(Hello(
            sessionID: context.sessionID ?? "",  // LEAD: a spare (nil) learns its id from the welcome
            pid: ProcessInfo.processInfo.processIdentifier,
            plugins: catalog.pluginIDs.map(\.rawValue),
            sandboxLayers: context.confinement.layers.map { $0.detail.isEmpty ? $0.name : "\($0.name): \($0.detail)" }
        )))
    }

    /// Handles one message from the supervisor (on the reader thread: never blocks).
    func receive(_ message: WireMessage) {
        switch message {
        case .welcome(let welcome):
            accept(welcome)
        case .emit(let emit):
            run(emit.id, what: emit.event) { scope in
                let reply: EmitResult
                do {
                    let envelope = try await scope.emitEncoded(name: emit.event, payload: emit.payload.jsonData(), identifier: emit.identifier)
                    reply = EmitResult(id: emit.id, payload: try JSONValue(jsonData: envelope.payload), stopped: envelope.stopped)
                } catch {
                    reply = EmitResult(id: emit.id, payload: nil, stopped: false, error: WireFailure(describing: error))
                }
                self.channel.send(.emitResult(reply))
            }
        case .request(let request):
            run(request.id, what: request.name) { scope in
                let reply: Response
                do {
                    let answer = try await scope.requestEncoded(name: request.name, payload: request.payload.jsonData(), identifier: request.identifier)
                    reply = Response(id: request.id, payload: try JSONValue(jsonData: answer))
                } catch where request.optional && WireFailure(describing: error).isNoAnswer {
                    reply = Response(id: request.id, payload: nil)
                } catch {
                    reply = Response(id: request.id, payload: nil, error: WireFailure(describing: error))
                }
                self.channel.send(.response(reply))
            }
        case .settings(let update):
            run(update.id, what: "settings") { scope in
                let reply: SettingsResult
                do {
                    let settings = try update.settings.decode(as: RuntimeSettings.self)
                    let report = try await scope.reconcile(to: settings)
                    reply = SettingsResult(
                        id: update.id,
                        attached: report.attached.map(\.rawValue).sorted(),
                        detached: report.detached.map(\.rawValue).sorted(),
                        changed: report.changed.map(\.rawValue).sorted())
                } catch {
                    reply = SettingsResult(id: update.id, attached: [], detached: [], changed: [],
                                           error: WireFailure(code: .settingsRejected, message: "\(error)"))
                }
                self.channel.send(.settingsResult(reply))
            }
        case .ping(let ping):
            channel.send(.pong(Pong(id: ping.id, busy: inFlight.busiest())))
        case .cancel(let cancel):
            inFlight.cancel(cancel.id)
        case .dispose:
            dispose()
        case .emitResult(let result):
            channel.complete(id: result.id, with: message)
        case .response(let response):
            channel.complete(id: response.id, with: message)
        case .error(let failure):
            FileHandle.standardError.write(Data("supervisor refused this worker: \(failure.message)\n".utf8))
            exit(2)
        case .hello, .ready, .settingsResult, .pong, .log, .bye:
            channel.send(.error(WireFailure(code: .protocolBreach, message: "a worker does not accept \(message.kind)")))
        }
    }

    private func accept(_ welcome: Welcome) {
        let proceed = phase.withLock { phase -> Bool in
            guard case .greeting = phase else { return false }
            phase = .building
            return true
        }
        guard proceed else {
            channel.send(.error(WireFailure(code: .protocolBreach, message: "welcome arrived twice")))
            return
        }
        do {
            try ProtocolVersion.check(remote: welcome.protocolVersion)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(2)
        }
        // LEAD: a spare worker learns its session here and shows it in ps/top.
        let sessionID = context.sessionID ?? welcome.sessionID
        if context.sessionID == nil { ProcessTitle.set(ProcessTitle.worker(session: sessionID)) }
        Task {
            do {
                let settings = try welcome.settings.decode(as: RuntimeSettings.self)
                let scope = try await SessionScope(
                    id: SessionID(sessionID),
                    catalog: catalog,
                    settings: settings,
                    globalBus: WireGlobalBus(channel: channel),
                    contextValues: contextFactory(SessionID(sessionID)),
                    logger: logger
                )
                phase.withLock { $0 = .running(scope) }
                channel.send(.ready(Ready(
                    enabledPlugins: await scope.enabledPlugins.map(\.rawValue).sorted(),
                    attachedPlugins: await scope.attachedPlugins.map(\.rawValue).sorted())))
            } catch {
                FileHandle.standardError.write(Data("session \(sessionID) could not start: \(error)\n".utf8))
                channel.send(.error(WireFailure(code: .internal, message: "session scope failed to start: \(error)")))
                exit(3)
            }
        }
    }

    /// Runs `body` for call `id` on the cooperative pool, tracked for cancels and heartbeats.
    private func run(_ id: UInt64, what: String, _ body: @escaping @Sendable (SessionScope) async -> Void) {
        let scope: SessionScope? = phase.withLock { phase in
            if case .running(let scope) = phase { return scope }
            return nil
        }
        guard let scope else {
            channel.send(.error(WireFailure(code: .protocolBreach, message: "\(what) arrived before the session was ready")))
            return
        }
        inFlight.begin(id, what: what)
        let task = Task {
            await body(scope)
            self.inFlight.end(id)
        }
        inFlight.attach(id, task: task)
    }

    private func dispose() {
        let scope: SessionScope? = phase.withLock { phase in
            defer { phase = .disposing }
            if case .running(let scope) = phase { return scope }
            return nil
        }
        Task {
            if let scope { await scope.dispose() }
            channel.send(.bye(Bye(reason: "disposed")))
            exit(0)
        }
    }
}
