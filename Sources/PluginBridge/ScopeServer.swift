import Logging
@_spi(SessionHost) import PluginKit
import PluginWire
import Synchronization

/// What serves a session's calls as wire messages: one scope (``ScopeServer``), or a worker's
/// scope together with the scopes of its plugin libraries.
///
/// Every method is an answer: failures travel inside the reply, as they do on the wire.
public protocol SessionResponder: Sendable {
    /// Builds the session from its welcome; returns the ready message, or throws why not.
    func start(_ welcome: Welcome) async throws -> Ready
    /// Runs an emit into the session.
    func answer(_ emit: Emit) async -> EmitResult
    /// Runs a request into the session.
    func answer(_ request: Request) async -> Response
    /// Reconciles the session to new settings (rolled back on failure).
    func reconcile(_ update: SettingsUpdate) async -> SettingsResult
    /// Detaches the plugins; returns the reason for the `bye`.
    func dispose() async -> String
}

/// One ``SessionScope`` answering wire messages: the scope a worker builds from its catalog, and
/// the scope a plugin library builds from its own, with its own copy of PluginKit.
public final class ScopeServer: SessionResponder {
    private enum Phase {
        case waiting
        case running(SessionScope, WireRegistry)
        case disposed
    }

    private let catalog: SessionPluginCatalog
    private let globalBus: any GlobalBusAccess
    private let contextFactory: @Sendable (SessionID) -> ContextValues
    private let logger: Logger
    private let phase = Mutex(Phase.waiting)

    /// A server for the plugins of `catalog`, whose `globalBus` is `globalBus`.
    public init(catalog: SessionPluginCatalog, globalBus: any GlobalBusAccess, logger: Logger,
                contextFactory: @escaping @Sendable (SessionID) -> ContextValues = { _ in ContextValues() }) {
        self.catalog = catalog
        self.globalBus = globalBus
        self.logger = logger
        self.contextFactory = contextFactory
    }

    /// The plugin ids the catalog offers.
    public var pluginIDs: [String] { catalog.pluginIDs.map(\.rawValue) }

    /// The plugins attached now (empty before the start and after the dispose).
    public var attachedPlugins: Set<PluginID> {
        get async {
            guard let scope = running?.0 else { return [] }
            return await scope.attachedPlugins
        }
    }

    private var running: (SessionScope, WireRegistry)? {
        phase.withLock { phase in
            if case .running(let scope, let registry) = phase { return (scope, registry) }
            return nil
        }
    }

    public func start(_ welcome: Welcome) async throws -> Ready {
        let id = SessionID(welcome.sessionID)
        let settings = try welcome.settings.decode(RuntimeSettings.self)
        let unknownReferences = welcome.unknownReferences.flatMap(UnknownReferencePolicy.init(name:)) ?? .throwError
        let scope = try await SessionScope(
            id: id, catalog: catalog, settings: settings, globalBus: globalBus,
            globalPlugins: Set(welcome.globalPlugins.map { PluginID($0) }), contextValues: contextFactory(id),
            unknownReferences: unknownReferences, logger: logger)
        phase.withLock { $0 = .running(scope, WireRegistry(bus: scope.bus)) }
        return Ready(enabledPlugins: await scope.enabledPlugins.map(\.rawValue).sorted(),
                     attachedPlugins: await scope.attachedPlugins.map(\.rawValue).sorted())
    }

    public func answer(_ emit: Emit) async -> EmitResult {
        guard let (_, registry) = running else {
            return EmitResult(id: emit.id, handled: 0, stopped: false, payload: nil, error: notRunning(emit.event))
        }
        do {
            let envelope = try await registry.emit(name: emit.event, payload: emit.payload, identifier: emit.identifier, origin: .global)
            return EmitResult(id: emit.id, handled: envelope.handlerCount, stopped: envelope.stopped,
                              payload: envelope.isPayloadReplaced ? envelope.payload : nil)
        } catch {
            return EmitResult(id: emit.id, handled: 0, stopped: false, payload: nil, error: WireFailure(describing: error))
        }
    }

    public func answer(_ request: Request) async -> Response {
        guard let (_, registry) = running else { return Response(id: request.id, payload: nil, error: notRunning(request.name)) }
        do {
            let answer = try await registry.request(name: request.name, payload: request.payload, identifier: request.identifier, origin: .global)
            return Response(id: request.id, payload: answer)
        } catch where request.optional && WireFailure(describing: error).isNoAnswer {
            return Response(id: request.id, payload: nil)
        } catch {
            return Response(id: request.id, payload: nil, error: WireFailure(describing: error))
        }
    }

    public func reconcile(_ update: SettingsUpdate) async -> SettingsResult {
        guard let (scope, _) = running else {
            return SettingsResult(id: update.id, attached: [], detached: [], changed: [], error: notRunning("settings"))
        }
        do {
            let settings = try update.settings.decode(RuntimeSettings.self)
            let report = try await scope.reconcile(to: settings, globalPlugins: Set(update.globalPlugins.map { PluginID($0) }))
            return SettingsResult(
                id: update.id,
                attached: report.attached.map(\.rawValue).sorted(),
                detached: report.detached.map(\.rawValue).sorted(),
                changed: report.changed.map(\.rawValue).sorted())
        } catch {
            return SettingsResult(id: update.id, attached: [], detached: [], changed: [],
                                  error: WireFailure(code: .settingsRejected, message: "\(error)"))
        }
    }

    public func dispose() async -> String {
        let scope: SessionScope? = phase.withLock { phase in
            defer { phase = .disposed }
            if case .running(let scope, _) = phase { return scope }
            return nil
        }
        guard let scope else { return "disposed" }
        do {
            try await scope.dispose()
            return "disposed"
        } catch {
            return "disposed; detach failed: \(error)"
        }
    }

    private func notRunning(_ what: String) -> WireFailure {
        WireFailure(code: .protocolBreach, message: "\(what) arrived before the session was ready")
    }
}
