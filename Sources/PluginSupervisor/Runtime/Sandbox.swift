import Logging
import PluginKit
import PluginSandbox
import PluginWorker

/// The one entry point of a host that runs sandboxed sessions.
///
/// Call ``bootstrap(sessionPlugins:contextFactory:configuration:)`` as the first statement of
/// `main`. In the host it starts the zygote that forks every worker, and returns the value the
/// host builds its runtime from. In a worker process it confines the process and serves the
/// session; in the zygote it serves spawn requests: in both it never returns, so no host code
/// ever runs in a worker.
///
/// ```swift
/// let sandbox = Sandbox.bootstrap(sessionPlugins: SessionPluginCatalog([{ HelloPlugin() }]))
/// try await sandbox.withRuntime(globalPlugins: [LogPlugin()]) { runtime in
///     let session = try await runtime.createSession(id: "doc-1")
///     ...
/// }
/// ```
///
/// A program that never calls it cannot serve as its own worker: building a host from a
/// `Sandbox` made with ``init(sessionPlugins:configuration:)`` then throws a `SpawnError` naming
/// this call, before any process is started.
public struct Sandbox: Sendable {
    /// The session plugins every worker offers (given once, here).
    public let sessionPlugins: SessionPluginCatalog
    /// How sessions are run (a copy may be changed before ``makeHost()`` or `withRuntime`).
    public var configuration: SandboxConfiguration

    /// Starts the zygote (in the host) or becomes a worker or the zygote (never returning).
    ///
    /// - Parameters:
    ///   - sessionPlugins: the session plugins workers offer.
    ///   - contextFactory: builds each session context's host-specific values, inside the worker.
    ///   - configuration: profiles, limits, resources, spares, logging.
    public static func bootstrap(
        sessionPlugins: SessionPluginCatalog,
        contextFactory: @escaping @Sendable (SessionID) -> ContextValues = { _ in ContextValues() },
        configuration: SandboxConfiguration = SandboxConfiguration()
    ) -> Sandbox {
        WorkerBootstrap.start(preload: { WorkerRuntime.preload() }) { context in
            WorkerRuntime.run(context, catalog: sessionPlugins, contextFactory: contextFactory)
        }
        return Sandbox(sessionPlugins: sessionPlugins, configuration: configuration)
    }

    /// A sandbox whose workers run another program: ``SandboxConfiguration/workerExecutable``
    /// names it, and that program's `main` must call `Sandbox.bootstrap` with the same session
    /// plugins (a separate worker binary, as browsers ship a separate renderer). Spawns use exec
    /// mode. Hosts that are their own worker use ``bootstrap(sessionPlugins:contextFactory:configuration:)``.
    public init(sessionPlugins: SessionPluginCatalog, configuration: SandboxConfiguration) {
        self.sessionPlugins = sessionPlugins
        self.configuration = configuration
    }

    /// A host for a runtime built by hand: `PluginRuntime(..., sessionPlugins: sandbox.sessionPlugins, host: host)`.
    /// Run its service (``SandboxedSessionHost/run()``) while sessions live.
    public func makeHost() throws -> SandboxedSessionHost {
        try SandboxedSessionHost(configuration: configuration)
    }

    /// Builds a runtime whose sessions are sandboxed, runs the host's service beside `body`, and
    /// disposes everything when `body` returns or throws.
    public func withRuntime<Result: Sendable>(
        globalPlugins: [any GlobalPlugin] = [],
        settings: RuntimeSettings = RuntimeSettings(),
        globalContextValues: ContextValues = ContextValues(),
        _ body: (PluginRuntime) async throws -> Result
    ) async throws -> Result {
        try await withRuntime(globalPlugins: globalPlugins, settings: settings, globalContextValues: globalContextValues) { runtime, _ in
            try await body(runtime)
        }
    }

    /// Like `withRuntime`, also handing
    /// `body` the host, for operator tools (sessions' summaries, logs, kills, lifecycle events).
    public func withRuntime<Result: Sendable>(
        globalPlugins: [any GlobalPlugin] = [],
        settings: RuntimeSettings = RuntimeSettings(),
        globalContextValues: ContextValues = ContextValues(),
        _ body: (PluginRuntime, SandboxedSessionHost) async throws -> Result
    ) async throws -> Result {
        let host = try makeHost()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await host.run() }
            let outcome: Swift.Result<Result, any Error>
            do {
                let runtime = try await PluginRuntime(
                    globalPlugins: globalPlugins, sessionPlugins: sessionPlugins, settings: settings, host: host,
                    globalContextValues: globalContextValues, logger: configuration.logger)
                do {
                    outcome = .success(try await body(runtime, host))
                } catch {
                    outcome = .failure(error)
                }
                await runtime.dispose()
            } catch {
                outcome = .failure(error)
            }
            await host.shutdown()
            try await group.waitForAll()
            return try outcome.get()
        }
    }
}
