import Foundation
import Logging
import PluginKit
import PluginSandbox
import PluginWire
import Synchronization

/// A `SessionHost` whose sessions are confined worker processes: `runtime.createSession` spawns a
/// worker, handshakes, and returns once the worker built its session scope and attached its plugins.
///
/// Lifecycle changes are published on the global bus as ``SessionStarted``, ``SessionEnded``,
/// ``SessionCrashed`` and ``SessionRestarted``; a session that ends on its own leaves
/// `runtime.sessions`.
public final class SandboxedSessionHost: SessionHost {
    /// The engine underneath (session table, health, control commands).
    public let supervisor: Supervisor
    private let router: BusRouter
    private let profiles: @Sendable (String?) throws -> SandboxProfile
    private let binding = Binding()

    /// The runtime and global bus this host serves, learned on the first `openSession`.
    private final class Binding: Sendable {
        let runtime = Mutex<PluginRuntime?>(nil)
        let bus = Mutex<EventBus?>(nil)
    }

    /// Creates the host.
    /// - Parameters:
    ///   - spawner: spawns workers (zygote in a host that started one, else exec).
    ///   - profiles: resolves a session's ``SandboxSessionOptions/profile`` (nil: the default profile).
    ///   - limits: supervisor-side limits per profile.
    public init(
        spawner: WorkerSpawner,
        profiles: @escaping @Sendable (String?) throws -> SandboxProfile,
        limits: @escaping @Sendable (SandboxProfile) -> WorkerLimits = { WorkerLimits(profile: $0) },
        logger: Logger = Logger(label: "plugin-supervisor", factory: { _ in SwiftLogNoOpLogHandler() }),
        workerEnvironment: [String: String] = [:]
    ) throws {
        let router = BusRouter()
        let binding = self.binding
        self.router = router
        self.profiles = profiles
        self.supervisor = try Supervisor(configuration: .init(
            spawner: spawner, router: router, limits: limits,
            lifecycle: { change in Self.publish(change, binding: binding) },
            logger: logger, workerEnvironment: workerEnvironment))
    }

    public func openSession(_ launch: SessionLaunch, global: EventBus, runtime: PluginRuntime) async throws -> any SessionHandle {
        router.bind(global)
        binding.bus.withLock { $0 = global }
        binding.runtime.withLock { $0 = runtime }
        let options = launch.options as? SandboxSessionOptions ?? SandboxSessionOptions()
        let profile = try profiles(options.profile)
        // LEAD: launch.globalPlugins and launch.unknownReferences do not reach the worker yet (see WorkerSession).
        let session = try await supervisor.openSession(
            id: launch.id.rawValue, profile: profile, settings: try JSONValue(encoding: launch.settings), restartPolicy: options.restart)
        return SandboxedSessionHandle(session: session)
    }

    private static func publish(_ change: SessionLifecycle, binding: Binding) {
        let finished: Bool
        switch change {
        case .ended: finished = true
        case .crashed(_, _, let willRestart): finished = !willRestart
        case .started, .restarted: finished = false
        }
        if finished { binding.runtime.withLock { $0 }?.removeSession(SessionID(change.sessionID)) }
        guard let bus = binding.bus.withLock({ $0 }) else { return }
        Task {
            switch change {
            case .started(let id, let pid): _ = try? await bus.emit(SessionStarted(sessionID: id, pid: pid))
            case .ended(let id, let cause): _ = try? await bus.emit(SessionEnded(sessionID: id, cause: cause))
            case .crashed(let id, let cause, let willRestart): _ = try? await bus.emit(SessionCrashed(sessionID: id, cause: cause, willRestart: willRestart))
            case .restarted(let id, let attempt): _ = try? await bus.emit(SessionRestarted(sessionID: id, attempt: attempt))
            }
        }
    }
}

/// A sandboxed session's options, given to `runtime.createSession(options:)`.
public struct SandboxSessionOptions: SessionOptions {
    /// The sandbox profile's name; nil for the host's default profile.
    public var profile: String?
    /// What happens when the session's worker crashes.
    public var restart: RestartPolicy

    /// Creates options.
    public init(profile: String? = nil, restart: RestartPolicy = .never) {
        self.profile = profile
        self.restart = restart
    }
}
