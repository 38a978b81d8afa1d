import PluginKit
import Synchronization

/// The global theme service: `setTheme` broadcasts ``ThemeChanged`` to every live session.
public final class ThemeService: StatefulPluginService {
    private let context = Mutex<GlobalPluginContext?>(nil)
    public init() {}
    public func configure(_ configuration: ServiceConfiguration) {}
    public func attach(_ context: ServiceContext) async throws {}
    public func detach() async {}
    func bind(_ context: GlobalPluginContext) { self.context.withLock { $0 = context } }

    /// Broadcasts `theme`; returns how each session took it.
    public func setTheme(_ theme: String) async -> [SessionID: SessionDelivery<ThemeChanged>] {
        guard let context = context.withLock({ $0 }) else { return [:] }
        return await context.sessions.emit(ThemeChanged(theme: theme))
    }
}

/// A global plugin owning the ``ThemeService``.
public struct ThemePlugin: GlobalPlugin {
    public let id: PluginID = "theme"
    public init() {}
    public func register(_ registry: ServiceRegistry, context: GlobalPluginContext) throws {
        let service = ThemeService()
        service.bind(context)
        try registry.registerSingleton("theme.service", plugin: id, service)
    }
}

/// A global plugin that numbers every ``DocumentOpened`` crossing from a session.
public final class AuditPlugin: GlobalPlugin {
    public let id: PluginID = "audit"
    private let counter = Mutex(0)
    public init() {}
    /// Documents audited so far.
    public var audited: Int { counter.withLock { $0 } }
    public func attach(_ context: GlobalPluginContext) async throws {
        context.on(DocumentOpened.self, for: id) { [self] envelope in
            let number = self.counter.withLock { value -> Int in
                value += 1
                return value
            }
            envelope.payload.auditNumber = number
        }
    }
}

/// Per-session editor state: a lazy singleton, one per session.
public final class EditorState: Sendable {
    let theme = Mutex("default")
    let auditNumber = Mutex(0)
    public init() {}
}

/// A session plugin: opens its document (announcing it to the global scope), follows the
/// theme, and answers word counts.
public struct EditorPlugin: SessionPlugin {
    public let id: PluginID = "editor"
    public init() {}

    public func register(_ registry: ServiceRegistry, context: SessionPluginContext) throws {
        try registry.registerLazySingleton("editor.state", plugin: id) { EditorState() }
    }

    public func attach(_ context: SessionPluginContext) async throws {
        let state: EditorState = try context.registry.resolve("editor.state")
        context.on(ThemeChanged.self, for: id) { envelope in
            state.theme.withLock { $0 = envelope.payload.theme }
        }
        context.onRequest(CurrentThemeRequest.self, for: id) { _ in state.theme.withLock { $0 } }
        context.onRequest(WordCountRequest.self, for: id) { request in
            (request.text ?? "").split(whereSeparator: \.isWhitespace).count
        }
        let title = context.config(for: id).string("title", default: "untitled")
        context.onRequest(AuditNumberRequest.self, for: id) { _ in state.auditNumber.withLock { $0 } }
        let opened = try await context.globalBus.emit(DocumentOpened(session: context.sessionID.rawValue, title: title))
        state.auditNumber.withLock { $0 = opened.payload.auditNumber ?? 0 }
        context.logger.info("document opened", metadata: ["audit": "\(opened.payload.auditNumber ?? -1)"])
    }
}

/// The demo's catalog of session plugins.
public enum DemoCatalog {
    /// The session plugins the demo offers.
    public static let sessionPlugins: [@Sendable () -> any SessionPlugin] = [{ EditorPlugin() }]

    /// The events and requests the demo's plugins handle: in each session (the editor) and in the
    /// global scope (the audit plugin).
    public static var interface: WireInterface {
        WireInterface([
            .event(ThemeChanged.self, handledBy: ["editor"], "the theme every editor follows (the theme service broadcasts it)"),
            .request(CurrentThemeRequest.self, answeredBy: ["editor"], "the theme the session's editor saw last"),
            .request(WordCountRequest.self, answeredBy: ["editor"], "the number of words in `text`"),
            .request(AuditNumberRequest.self, answeredBy: ["editor"], "the number the audit plugin gave the session's document"),
            .event(DocumentOpened.self, scope: .global, handledBy: ["audit"], "sent by an editor when it opens its document; the audit plugin numbers it"),
        ])
    }
}
