/// A registry operation that could not be carried out; names the slot and plugin concerned.
public enum RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No registration in the slot.
    case notRegistered(ServiceID)
    /// Settings disable every registration in the slot.
    case allDisabled(ServiceID, candidates: [PluginID])
    /// The winner is not of the requested type.
    case typeMismatch(ServiceID, expected: String, actual: String)
    /// A stateful service may not be a factory.
    case statefulFactory(ServiceID, plugin: PluginID)
    /// The plugin's registration in this slot is an attached stateful service; it cannot be replaced.
    case replacingAttachedService(ServiceID, plugin: PluginID)
    /// `resolveAfter` names a plugin that has no registration in the slot.
    case noRegistration(ServiceID, plugin: PluginID)
    /// `resolveAfter` found no enabled registration after the plugin's.
    case nothingAfter(ServiceID, plugin: PluginID)

    public var description: String {
        switch self {
        case .notRegistered(let slot): return "no service is registered for '\(slot)'"
        case .allDisabled(let slot, let candidates):
            return "every registration of '\(slot)' is disabled by settings (candidates: \(candidates.map(\.rawValue).joined(separator: ", ")))"
        case .typeMismatch(let slot, let expected, let actual): return "service '\(slot)' is a \(actual), not a \(expected)"
        case .statefulFactory(let slot, let plugin): return "plugin '\(plugin)' registered stateful service '\(slot)' as a factory; register it as a singleton or lazy singleton"
        case .replacingAttachedService(let slot, let plugin): return "plugin '\(plugin)' cannot replace its attached stateful service '\(slot)'"
        case .noRegistration(let slot, let plugin): return "plugin '\(plugin)' has no registration for '\(slot)'"
        case .nothingAfter(let slot, let plugin): return "no enabled registration of '\(slot)' comes after plugin '\(plugin)'"
        }
    }
}
