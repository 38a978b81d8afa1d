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
        case running(SessionScope, WireRegistry)
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
            sessionID: context.sessionID,
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
            run(emit.id, what: emit.event) { _, wire in
                let reply: EmitResult
                do {
                    let envelope = try await wire.emit(name: emit.event, payload: emit.payload.jsonData(), identifier: emit.identifier, origin: .global)
                    reply = EmitResult(id: emit.id, payload: envelope.isPayloadReplaced ? try JSONValue(jsonData: envelope.payload) : emit.payload,
                                       stopped: envelope.stopped, handlerCount: envelope.handlerCount, payloadReplaced: envelope.isPayloadReplaced)
                } catch {
                    reply = EmitResult(id: emit.id, payload: nil, stopped: false, error: WireFailure(describing: error))
                }
                self.channel.send(.emitResult(reply))
            }
        case .request(let request):
            run(request.id, what: request.name) { _, wire in
                let reply: Response
                do {
                    let answer = try await wire.request(name: request.name, payload: request.payload.jsonData(), identifier: request.identifier, origin: .global)
                    reply = Response(id: request.id, payload: try JSONValue(jsonData: answer))
                } catch where request.optional && WireFailure(describing: error).isNoAnswer {
                    reply = Response(id: request.id, payload: nil)
                } catch {
                    reply = Response(id: request.id, payload: nil, error: WireFailure(describing: error))
                }
                self.channel.send(.response(reply))
            }
        case .settings(let update):
            run(update.id, what: "settings") { scope, _ in
                let reply: SettingsResult
                do {
                    let settings = try update.settings.decode(as: RuntimeSettings.self)
                    // LEAD: the supervisor does not send the global plugin set with a settings update yet;
                    // pass it as `globalPlugins:` once it crosses the wire (SessionHandle.reconcile has it).
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
        Task {
            do {
                let settings = try welcome.settings.decode(as: RuntimeSettings.self)
                // LEAD: the welcome does not carry SessionLaunch.globalPlugins nor .unknownReferences yet;
                // pass them as `globalPlugins:` and `unknownReferences:` once they cross the wire.
                let scope = try await SessionScope(
                    id: SessionID(context.sessionID),
                    catalog: catalog,
                    settings: settings,
                    globalBus: WireGlobalBus(channel: channel, session: SessionID(context.sessionID)),
                    contextValues: contextFactory(SessionID(context.sessionID)),
                    logger: logger
                )
                phase.withLock { $0 = .running(scope, WireRegistry(bus: scope.bus)) }
                channel.send(.ready(Ready(
                    enabledPlugins: await scope.enabledPlugins.map(\.rawValue).sorted(),
                    attachedPlugins: await scope.attachedPlugins.map(\.rawValue).sorted())))
            } catch {
                FileHandle.standardError.write(Data("session \(context.sessionID) could not start: \(error)\n".utf8))
                // LEAD: the supervisor only logs this frame during the handshake, so createSession reports
                // "exited (code 3)" without the plugin's LifecycleError; make it the handshake's failure cause.
                channel.send(.error(WireFailure(code: .internal, message: "session scope failed to start: \(error)")))
                exit(3)
            }
        }
    }

    /// Runs `body` for call `id` on the cooperative pool, tracked for cancels and heartbeats.
    private func run(_ id: UInt64, what: String, _ body: @escaping @Sendable (SessionScope, WireRegistry) async -> Void) {
        let running: (SessionScope, WireRegistry)? = phase.withLock { phase in
            if case .running(let scope, let wire) = phase { return (scope, wire) }
            return nil
        }
        guard let (scope, wire) = running else {
            channel.send(.error(WireFailure(code: .protocolBreach, message: "\(what) arrived before the session was ready")))
            return
        }
        inFlight.begin(id, what: what)
        let task = Task {
            await body(scope, wire)
            self.inFlight.end(id)
        }
        inFlight.attach(id, task: task)
    }

    private func dispose() {
        let scope: SessionScope? = phase.withLock { phase in
            defer { phase = .disposing }
            if case .running(let scope, _) = phase { return scope }
            return nil
        }
        Task {
            if let scope { try? await scope.dispose() }
            channel.send(.bye(Bye(reason: "disposed")))
            exit(0)
        }
    }
}
