import CPluginLibrary
import Foundation
import Logging
import PluginBridge
import PluginKit
import PluginWire
import Synchronization

/// Declares a plugin library: the session plugins it offers, as the one value its entry point
/// returns.
///
/// A plugin library is a SwiftPM `.dynamic` library product whose target depends on `PluginKit`
/// and `PluginLibrary` and exports exactly one function, `pluginsandbox_library_v1`:
///
/// ```swift
/// import PluginKit
/// import PluginLibrary
///
/// @_cdecl("pluginsandbox_library_v1")
/// public func pluginsandboxLibrary() -> UnsafeRawPointer {
///     PluginLibraryExport.declare(name: "greeter", sessionPlugins: SessionPluginCatalog([{ GreeterPlugin() }]))
/// }
/// ```
///
/// A worker that loads the library reads the declaration (layout, protocol version, fingerprint,
/// plugin ids) and refuses a library built for another release or toolchain before it calls
/// anything else. The session's scope then runs inside the library, on the library's own copy of
/// PluginKit, and talks to the worker in wire-protocol messages: see <doc:ChoosingTheBoundary>.
public enum PluginLibraryExport {
    private struct Declaration: @unchecked Sendable {
        // @unchecked: the table is built once, never written after, and lives as long as the process.
        let table: UnsafeMutablePointer<psl_library_v1>
        let catalog: SessionPluginCatalog
        let contextFactory: @Sendable (SessionID) -> ContextValues
    }

    private static let declared = Mutex<Declaration?>(nil)

    /// The library's declaration, built on the first call (later calls return the same one).
    ///
    /// - Parameters:
    ///   - name: a short name for messages and log records.
    ///   - sessionPlugins: the session plugins the library offers; their ids must differ from the
    ///     host's session plugins and from other libraries' in the same session.
    ///   - contextFactory: builds each session context's values, inside the worker (the host's own
    ///     context values do not reach a library).
    /// - Returns: the `psl_library_v1` table the entry point returns.
    public static func declare(
        name: String,
        sessionPlugins: SessionPluginCatalog,
        contextFactory: @escaping @Sendable (SessionID) -> ContextValues = { _ in ContextValues() }
    ) -> UnsafeRawPointer {
        declared.withLock { declared in
            if let existing = declared { return UnsafeRawPointer(existing.table) }
            let ids = sessionPlugins.pluginIDs.map(\.rawValue)
            let plugins = (try? JSONEncoder().encode(ids)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
            let table = UnsafeMutablePointer<psl_library_v1>.allocate(capacity: 1)
            table.initialize(to: psl_library_v1(
                abi_version: UInt32(PSL_ABI_VERSION),
                protocol_version: UInt32(ProtocolVersion.current),
                fingerprint: UnsafePointer(strdup(String(cString: psl_fingerprint()))),
                name: UnsafePointer(strdup(name)),
                plugins: UnsafePointer(strdup(plugins)),
                open: { host in
                    guard let host else { return nil }
                    return PluginLibraryExport.open(host)
                },
                receive: { session, body, length in
                    guard let session else { return }
                    let endpoint = Unmanaged<LibrarySession>.fromOpaque(session).takeUnretainedValue()
                    endpoint.channel.received(UnsafeRawBufferPointer(start: body, count: length))
                }))
            declared = Declaration(table: table, catalog: sessionPlugins, contextFactory: contextFactory)
            return UnsafeRawPointer(table)
        }
    }

    /// Starts the library's session side for the worker's `host`; it lives as long as the process.
    private static func open(_ host: UnsafePointer<psl_host_v1>) -> UnsafeMutableRawPointer? {
        guard let declaration = declared.withLock({ $0 }) else { return nil }
        let session = LibrarySession(host: host, catalog: declaration.catalog, contextFactory: declaration.contextFactory)
        session.start()
        return Unmanaged.passRetained(session).toOpaque()
    }
}

/// A plugin library's session: its scope, served over its link to the worker.
final class LibrarySession: Sendable {
    let channel: LibraryChannel
    private let endpoint: SessionEndpoint

    init(host: UnsafePointer<psl_host_v1>, catalog: SessionPluginCatalog, contextFactory: @escaping @Sendable (SessionID) -> ContextValues) {
        let channel = LibraryChannel(host: host)
        let logger = Logger(label: "plugin") { _ in WireLogHandler(connection: channel) }
        let server = ScopeServer(catalog: catalog, globalBus: WireGlobalBus(connection: channel), logger: logger, contextFactory: contextFactory)
        self.channel = channel
        self.endpoint = SessionEndpoint(responder: server, channel: channel, hooks: SessionEndpoint.Hooks(
            welcomed: { welcome in
                guard welcome.protocolVersion == ProtocolVersion.current else {
                    channel.send(.error(WireFailure(code: .startFailed, message: "the worker speaks protocol \(welcome.protocolVersion); this plugin library speaks \(ProtocolVersion.current)")))
                    return "protocol mismatch"
                }
                return nil
            }))
    }

    /// Serves the session on the process's executor.
    func start() {
        let (endpoint, messages) = (self.endpoint, channel.messages)
        Task { await endpoint.serve(messages) }
    }
}
