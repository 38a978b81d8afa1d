/// A lifecycle phase, as named in errors.
public struct LifecyclePhase: Sendable, Hashable, CustomStringConvertible {
    private enum Value: String { case register, attach, detach, settingsChanged, reconcile }
    private let value: Value
    private init(_ value: Value) { self.value = value }
    public static let register = LifecyclePhase(.register)
    public static let attach = LifecyclePhase(.attach)
    public static let detach = LifecyclePhase(.detach)
    public static let settingsChanged = LifecyclePhase(.settingsChanged)
    public static let reconcile = LifecyclePhase(.reconcile)
    public var description: String { value.rawValue }
}

/// Failures of one lifecycle phase, aggregated: one plugin throwing does not stop the others,
/// and this names the phase and every failing plugin.
public struct LifecycleError: Error, Sendable, CustomStringConvertible {
    /// The phase.
    public let phase: LifecyclePhase
    /// Each failing plugin with its error's description.
    public let failures: [PluginID: String]
    /// The scope: `global` or a session id.
    public let scope: String

    public var description: String {
        let list = failures.keys.sorted().map { "\($0): \(failures[$0] ?? "")" }.joined(separator: "; ")
        return "\(phase) failed in \(scope) for \(failures.count) plugin(s): \(list)"
    }
}

/// A problem with the plugin configuration found while deciding enablement.
public enum ConfigurationProblem: Sendable, Hashable, CustomStringConvertible {
    /// `plugin` was turned off because `dependency` is off or unknown.
    case dependencyDisabled(PluginID, dependency: PluginID)
    /// A locked plugin's dependency is off; the plugin stays on.
    case lockedDependencyMissing(PluginID, dependency: PluginID)
    /// These plugins depend on each other in a cycle.
    case cycle([PluginID])
    /// A global plugin depends on a session plugin.
    case globalDependsOnSession(PluginID, dependency: PluginID)

    public var description: String {
        switch self {
        case .dependencyDisabled(let plugin, let dependency): return "\(plugin) is off because its dependency \(dependency) is off"
        case .lockedDependencyMissing(let plugin, let dependency): return "locked plugin \(plugin) stays on although its dependency \(dependency) is off"
        case .cycle(let plugins): return "dependency cycle: \(plugins.map(\.rawValue).joined(separator: " → "))"
        case .globalDependsOnSession(let plugin, let dependency): return "global plugin \(plugin) may not depend on session plugin \(dependency)"
        }
    }
}

/// A re-entrant or post-dispose call, a duplicate id, or a bad context configuration.
public enum RuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `updateSettings` was called while another update was running.
    case updateInProgress
    /// The runtime (or session) was disposed.
    case disposed
    /// Two plugins share an id (global and session plugins share one namespace).
    case duplicatePlugin(PluginID)
    /// A live session (or one being created) already has this id.
    case duplicateSession(SessionID)
    /// A custom context type was asked for without a factory that builds it.
    case missingContextFactory(String)

    public var description: String {
        switch self {
        case .updateInProgress: return "a settings update is already running; updates are not interleaved"
        case .disposed: return "the runtime was disposed"
        case .duplicatePlugin(let id): return "two plugins share the id '\(id)'"
        case .duplicateSession(let id): return "a session with id '\(id)' already exists"
        case .missingContextFactory(let type): return "context type \(type) needs a context factory; the runtime only builds the base context"
        }
    }
}
