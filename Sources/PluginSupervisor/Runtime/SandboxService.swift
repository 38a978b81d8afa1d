import PluginKit
import ServiceLifecycle

/// The host's service as a swift-service-lifecycle `Service`, for a host that runs its
/// long-lived parts in one `ServiceGroup`.
///
/// It runs ``SandboxedSessionHost/run()`` until the group shuts down gracefully (SIGTERM, SIGINT,
/// or another service ending) or is cancelled; then it disposes the runtime (every session's
/// plugins detach and its worker exits) and shuts the host down. Put it first in the group, so
/// that it is the last to stop: the group stops its services in reverse order, and a control
/// server listed after it closes before the sessions go.
///
/// ```swift
/// let host = try sandbox.makeHost()
/// let runtime = try await PluginRuntime(globalPlugins: ..., sessionPlugins: sandbox.sessionPlugins, host: host)
/// let group = ServiceGroup(configuration: .init(
///     services: [SandboxService(host: host, runtime: runtime), ...],
///     gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
/// try await group.run()
/// ```
public struct SandboxService: Service {
    /// The host whose service runs.
    public let host: SandboxedSessionHost
    /// The runtime disposed at shutdown, before the host stops (nil: only the host's sessions are disposed).
    public let runtime: PluginRuntime?
    /// How long each session may take to exit at shutdown before its worker is killed.
    public let shutdownTimeout: Duration

    /// Creates the service.
    public init(host: SandboxedSessionHost, runtime: PluginRuntime? = nil, shutdownTimeout: Duration = .seconds(2)) {
        self.host = host
        self.runtime = runtime
        self.shutdownTimeout = shutdownTimeout
    }

    /// Runs the host's service until graceful shutdown or cancellation, then disposes everything.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await host.run() }
            // Returns when the group shuts down gracefully, and at once when the task is cancelled.
            try? await gracefulShutdown()
            await runtime?.dispose()
            await host.shutdown(timeout: shutdownTimeout)
        }
    }
}
