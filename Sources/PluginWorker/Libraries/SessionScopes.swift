import PluginBridge
import PluginKit
import PluginWire
import Synchronization

/// A worker's session when plugin libraries join it: the worker's own scope (its host's session
/// plugins), then each library's scope, in the order the operator named them, answering as one.
///
/// - An emit runs through the scopes in order, each seeing the payload the one before left; it
///   stops where a handler stops it, and counts every handler that ran.
/// - A request goes to the first scope that answers it; "not wired" and "all conceded" pass it on.
/// - Settings reconcile every scope; when one refuses, the scopes already reconciled go back to
///   the settings they had, and the update fails.
/// - A library's plugins may depend on the worker's own session plugins: each library scope is
///   told the worker's attached plugins as if they were global ones.
///
/// Each scope keeps its own bus: a plugin's `context.bus` reaches the plugins of its own scope
/// (its host's, or its library's), and the scopes meet through the session's emits and requests
/// and through the global bus.
final class SessionScopes: SessionResponder {
    private let own: ScopeServer
    private let libraries: [LibraryLink]
    /// The settings the scopes last agreed on, to roll back to.
    private let state = Mutex<SettingsUpdate?>(nil)

    init(own: ScopeServer, libraries: [LibraryLink]) {
        self.own = own
        self.libraries = libraries
    }

    func start(_ welcome: Welcome) async throws -> Ready {
        var ready = try await own.start(welcome)
        let external = await externalPlugins(global: welcome.globalPlugins)
        for library in libraries {
            var scoped = welcome
            scoped.globalPlugins = external
            let part: Ready
            do {
                part = try await library.start(scoped)
            } catch {
                throw LibraryStartFailure(library: library.path, reason: "\(error)")
            }
            ready.enabledPlugins += part.enabledPlugins
            ready.attachedPlugins += part.attachedPlugins
        }
        state.withLock { $0 = SettingsUpdate(id: 0, settings: welcome.settings, globalPlugins: welcome.globalPlugins) }
        return Ready(enabledPlugins: ready.enabledPlugins.sorted(), attachedPlugins: ready.attachedPlugins.sorted())
    }

    func answer(_ emit: Emit) async -> EmitResult {
        var result = await own.answer(emit)
        var current = emit
        for library in libraries {
            if result.error != nil || result.stopped { break }
            if let replaced = result.payload { current.payload = replaced }
            let part = await library.answer(current)
            result = EmitResult(id: emit.id, handled: result.handled + part.handled, stopped: part.stopped,
                                payload: part.payload ?? result.payload, error: part.error)
        }
        return result
    }

    func answer(_ request: Request) async -> Response {
        var asked = request
        asked.optional = false  // a scope that does not answer passes the request on
        var firstMiss: Response?
        for scope in [own as any SessionResponder] + libraries {
            let response = await scope.answer(asked)
            guard let error = response.error, error.isNoAnswer else { return response }
            if firstMiss == nil || error.code == .allConceded { firstMiss = response }
        }
        if request.optional { return Response(id: request.id, payload: nil) }
        return firstMiss ?? Response(id: request.id, payload: nil, error: WireFailure(code: .notWired, message: "no handler for \(request.name)"))
    }

    func reconcile(_ update: SettingsUpdate) async -> SettingsResult {
        let previous = state.withLock { $0 }
        var merged = SettingsResult(id: update.id, attached: [], detached: [], changed: [])
        var reconciled: [any SessionResponder] = []
        let ownResult = await own.reconcile(update)
        if ownResult.error != nil { return ownResult }
        reconciled.append(own)
        merge(ownResult, into: &merged)
        var scoped = update
        scoped.globalPlugins = await externalPlugins(global: update.globalPlugins)
        for library in libraries {
            let part = await library.reconcile(scoped)
            if let error = part.error {
                await rollBack(reconciled, to: previous)
                return SettingsResult(id: update.id, attached: [], detached: [], changed: [],
                                      error: WireFailure(code: error.code, message: "plugin library \(library.name): \(error.message)", details: error.details))
            }
            reconciled.append(library)
            merge(part, into: &merged)
        }
        state.withLock { $0 = update }
        merged.attached.sort()
        merged.detached.sort()
        merged.changed.sort()
        return merged
    }

    func dispose() async -> String {
        var reasons = [await own.dispose()]
        for library in libraries { reasons.append("plugin library \(library.name): \(await library.dispose())") }
        return reasons.joined(separator: "; ")
    }

    /// The plugins a library's scope may depend on: the enabled global plugins and the worker's
    /// own attached session plugins.
    private func externalPlugins(global: [String]) async -> [String] {
        Array(Set(global).union(await own.attachedPlugins.map(\.rawValue))).sorted()
    }

    private func merge(_ part: SettingsResult, into merged: inout SettingsResult) {
        merged.attached += part.attached
        merged.detached += part.detached
        merged.changed += part.changed
    }

    private func rollBack(_ scopes: [any SessionResponder], to previous: SettingsUpdate?) async {
        guard let previous else { return }
        for scope in scopes.reversed() {
            var restore = previous
            if scope is LibraryLink { restore.globalPlugins = await externalPlugins(global: previous.globalPlugins) }
            _ = await scope.reconcile(restore)
        }
    }
}

/// A plugin library's scope could not start: its path, and why.
struct LibraryStartFailure: Error, CustomStringConvertible {
    let library: String
    let reason: String

    var description: String { "plugin library \(library) could not start its session: \(reason)" }
}
