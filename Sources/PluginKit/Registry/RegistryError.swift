/// A registry operation that could not be carried out; names the slot and plugin concerned.
public enum RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No enabled registration in the slot.
    case notRegistered(ServiceId)
    /// The winner is not of the requested type.
    case typeMismatch(ServiceId, expected: String, actual: String)
    /// A stateful service may not be a factory.
    case statefulFactory(ServiceId, plugin: PluginId)
    /// The plugin's registration in this slot is an attached stateful service; it cannot be replaced.
    case replacingAttachedService(ServiceId, plugin: PluginId)
    /// `resolveAfter` names a plugin that has no registration in the slot.
    case noRegistration(ServiceId, plugin: PluginId)

    public var description: String {
        switch self {
        case .notRegistered(let slot): return "no enabled service is registered for '\(slot)'"
        case .typeMismatch(let slot, let expected, let actual): return "service '\(slot)' is a \(actual), not a \(expected)"
        case .statefulFactory(let slot, let plugin): return "plugin '\(plugin)' registered stateful service '\(slot)' as a factory; register it as a singleton or lazy singleton"
        case .replacingAttachedService(let slot, let plugin): return "plugin '\(plugin)' cannot replace its attached stateful service '\(slot)'"
        case .noRegistration(let slot, let plugin): return "plugin '\(plugin)' has no registration for '\(slot)'"
        }
    }
}
