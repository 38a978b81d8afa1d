#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import PluginBridge
@_spi(SessionHost) import PluginKit
import PluginSandbox
import PluginWire

/// The session scope inside a confined worker, bridged to the session socket.
///
/// Runs the seven steps of a session when the welcome arrives, answers the supervisor's emits,
/// requests and settings, and carries the plugins' `globalBus` traffic up. Every incoming call
/// is a child task of one task group, so the session's work is structured; a cancel from the
/// supervisor cancels that one child. Everything runs on the worker's executor thread, one job at
/// a time, so this type needs no lock.
final class WorkerSession: @unchecked Sendable {
    // @unchecked: every method runs on the worker's executor thread (the main thread), which runs
    // one job at a time; the reader thread only answers heartbeats and yields messages.

    private enum Phase {
        case greeting
        case building
        case running(SessionScope, WireRegistry)
        case disposing
    }

    private let context: WorkerContext
    private let catalog: SessionPluginCatalog
    private let connection: WorkerConnection
    private let contextFactory: @Sendable (SessionID) -> ContextValues
    private let logger: Logger
    private var phase = Phase.greeting
    private var sessionID: SessionID?

    init(context: WorkerContext, catalog: SessionPluginCatalog, connection: WorkerConnection,
         contextFactory: @escaping @Sendable (SessionID) -> ContextValues) {
        self.context = context
        self.catalog = catalog
        self.connection = connection
        self.contextFactory = contextFactory
        self.logger = Logger(label: "plugin") { _ in WireLogHandler(connection: connection) }
    }

    /// Introduces the worker to the supervisor.
    func greet() {
        connection.send(.hello(Hello(pid: getpid(), plugins: catalog.pluginIDs.map(\.rawValue), build: WorkerBuild.fingerprint)))
    }

    /// Serves messages until the stream ends; each call runs as a child task.
    func serve(_ messages: AsyncStream<WireMessage>) async {
        await withDiscardingTaskGroup { group in
            for await message in messages {
                receive(message, in: &group)
            }
        }
    }

    private func receive(_ message: WireMessage, in group: inout DiscardingTaskGroup) {
        switch message {
        case .welcome(let welcome):
            accept(welcome, in: &group)
        case .emit(let emit):
            run(emit.id, what: emit.event, in: &group) { scope, registry in
                await self.answer(emit, registry: registry)
            }
        case .request(let request):
            run(request.id, what: request.name, in: &group) { _, registry in
                await self.answer(request, registry: registry)
            }
        case .settings(let update):
            run(update.id, what: "settings", in: &group) { scope, _ in
                await self.reconcile(update, scope: scope)
            }
        case .cancel(let cancel):
            connection.inFlight.cancel(cancel.id)
        case .dispose:
            dispose(in: &group)
        case .error(let failure):
            FileHandle.standardError.write(Data("the supervisor refused this worker: \(failure.message)\n".utf8))
            exit(2)
        default:
            connection.send(.error(WireFailure(code: .protocolBreach, message: "a worker does not accept \(message.kind)")))
        }
    }

    // MARK: Start

    private func accept(_ welcome: Welcome, in group: inout DiscardingTaskGroup) {
        guard case .greeting = phase else {
            connection.send(.error(WireFailure(code: .protocolBreach, message: "welcome arrived twice")))
            return
        }
        do {
            try ProtocolVersion.check(remote: welcome.protocolVersion)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(2)
        }
        if let expected = context.sessionID, expected != welcome.sessionID {
            FileHandle.standardError.write(Data("welcome names session \(welcome.sessionID), this worker was spawned for \(expected)\n".utf8))
            exit(2)
        }
        let id = SessionID(welcome.sessionID)
        sessionID = id
        ProcessTitle.set("sandbox-worker \(welcome.sessionID)")
        phase = .building
        let globalPlugins = Set(welcome.globalPlugins.map { PluginId($0) })
        let unknownReferences = welcome.unknownReferences.flatMap(UnknownReferencePolicy.init(name:)) ?? .throwError
        group.addTask {
            do {
                let settings = try welcome.settings.decode(RuntimeSettings.self)
                let scope = try await SessionScope(
                    id: id, catalog: self.catalog, settings: settings,
                    globalBus: WireGlobalBus(connection: self.connection),
                    globalPlugins: globalPlugins, contextValues: self.contextFactory(id), unknownReferences: unknownReferences,
                    logger: self.logger)
                let registry = WireRegistry(bus: scope.bus)
                self.phase = .running(scope, registry)
                self.connection.send(.ready(Ready(
                    enabledPlugins: await scope.enabledPlugins.map(\.rawValue).sorted(),
                    attachedPlugins: await scope.attachedPlugins.map(\.rawValue).sorted())))
            } catch {
                // The supervisor fails createSession with this report and kills the worker.
                self.connection.send(.error(WireFailure(code: .startFailed, message: "\(error)")))
                FileHandle.standardError.write(Data("session \(id) could not start: \(error)\n".utf8))
                exit(3)
            }
        }
    }

    // MARK: Calls

    /// Runs `body` for call `id` as a child task, registered for cancels and heartbeats.
    private func run(_ id: UInt64, what: String, in group: inout DiscardingTaskGroup,
                     _ body: @escaping @Sendable (SessionScope, WireRegistry) async -> Void) {
        guard case .running(let scope, let registry) = phase else {
            connection.send(.error(WireFailure(code: .protocolBreach, message: "\(what) arrived before the session was ready")))
            return
        }
        let inFlight = connection.inFlight
        group.addTask {
            await inFlight.running(id, what: what) {
                await body(scope, registry)
            }
        }
    }

    private func answer(_ emit: Emit, registry: WireRegistry) async {
        let reply: EmitResult
        do {
            let envelope = try await registry.emit(name: emit.event, payload: emit.payload, identifier: emit.identifier, origin: .global)
            reply = EmitResult(id: emit.id, handled: envelope.handlerCount, stopped: envelope.stopped,
                               payload: envelope.isPayloadReplaced ? envelope.payload : nil)
        } catch {
            reply = EmitResult(id: emit.id, handled: 0, stopped: false, payload: nil, error: WireFailure(describing: error))
        }
        connection.send(.emitResult(reply))
    }

    private func answer(_ request: Request, registry: WireRegistry) async {
        let reply: Response
        do {
            let answer = try await registry.request(name: request.name, payload: request.payload, identifier: request.identifier, origin: .global)
            reply = Response(id: request.id, payload: answer)
        } catch where request.optional && WireFailure(describing: error).isNoAnswer {
            reply = Response(id: request.id, payload: nil)
        } catch {
            reply = Response(id: request.id, payload: nil, error: WireFailure(describing: error))
        }
        connection.send(.response(reply))
    }

    private func reconcile(_ update: SettingsUpdate, scope: SessionScope) async {
        let reply: SettingsResult
        do {
            let settings = try update.settings.decode(RuntimeSettings.self)
            let report = try await scope.reconcile(to: settings, globalPlugins: Set(update.globalPlugins.map { PluginId($0) }))
            reply = SettingsResult(
                id: update.id,
                attached: report.attached.map(\.rawValue).sorted(),
                detached: report.detached.map(\.rawValue).sorted(),
                changed: report.changed.map(\.rawValue).sorted())
        } catch {
            reply = SettingsResult(id: update.id, attached: [], detached: [], changed: [],
                                   error: WireFailure(code: .settingsRejected, message: "\(error)"))
        }
        connection.send(.settingsResult(reply))
    }

    // MARK: End

    private func dispose(in group: inout DiscardingTaskGroup) {
        let scope: SessionScope?
        if case .running(let running, _) = phase { scope = running } else { scope = nil }
        phase = .disposing
        group.addTask {
            var reason = "disposed"
            if let scope {
                do {
                    try await scope.dispose()
                } catch {
                    reason = "disposed; detach failed: \(error)"
                }
            }
            self.connection.send(.bye(Bye(reason: reason)))
            exit(0)
        }
    }
}
