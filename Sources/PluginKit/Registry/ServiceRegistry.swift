import Synchronization

/// How a registration builds its service.
public struct RegistrationKind: Sendable, Hashable, CustomStringConvertible {
    private enum Value: String { case singleton, lazySingleton, factory }
    private let value: Value
    private init(_ value: Value) { self.value = value }
    /// Built at registration; one instance.
    public static let singleton = RegistrationKind(.singleton)
    /// Built on first resolve, then cached.
    public static let lazySingleton = RegistrationKind(.lazySingleton)
    /// A new instance per resolve.
    public static let factory = RegistrationKind(.factory)
    public var description: String { value.rawValue }
}

/// A registration as the registry holds it, readable without building the service.
public struct ServiceRegistration: Sendable {
    /// The registering plugin.
    public let pluginId: PluginID
    /// The slot.
    public let serviceId: ServiceID
    /// How it builds its service.
    public let kind: RegistrationKind
    /// The priority it was registered with.
    public let basePriority: Priority
    /// The priority after settings overrides.
    public let priority: Priority
    /// Whether settings leave it enabled.
    public let isEnabled: Bool
    /// The effective override (plugin-specific merged with the slot's wildcard).
    public let settings: ServiceSettings?
    /// Metadata attached at registration.
    public let capabilities: [any Capability]

    /// The first capability of type `C`.
    public func capability<C: Capability>(_ type: C.Type) -> C? {
        capabilities.lazy.compactMap { $0 as? C }.first
    }
}

/// A scope's service registry: slots filled by plugins' registrations, resolved by priority.
///
/// Resolution returns the enabled registration with the highest effective priority; among equal
/// priorities the earliest registration wins. Settings overrides (`pluginId:serviceId`,
/// `*:serviceId`) change enablement, priority and injected configuration (see
/// ``applyOverrides(from:)`` for the rules).
public final class ServiceRegistry: Sendable {
    final class Entry: Sendable {
        let pluginId: PluginID
        let serviceId: ServiceID
        let kind: RegistrationKind
        let basePriority: Priority
        let sequence: UInt64
        let capabilities: [any Capability]
        let make: @Sendable () -> any Sendable
        let isStateful: Bool
        struct Mutable {
            var instance: (any Sendable)?
            var injectedHash: Int?
            /// The context of an attached stateful service; nil while it is not attached.
            var attachment: ServiceContext?
        }
        let mutable: Mutex<Mutable>

        init(pluginId: PluginID, serviceId: ServiceID, kind: RegistrationKind, basePriority: Priority, sequence: UInt64,
             capabilities: [any Capability], isStateful: Bool, make: @escaping @Sendable () -> any Sendable) {
            self.pluginId = pluginId
            self.serviceId = serviceId
            self.kind = kind
            self.basePriority = basePriority
            self.sequence = sequence
            self.capabilities = capabilities
            self.isStateful = isStateful
            self.make = make
            self.mutable = Mutex(Mutable())
        }

        /// The instance of a singleton, built now when lazy.
        func builtInstance() -> any Sendable {
            mutable.withLock { mutable in
                if let existing = mutable.instance { return existing }
                let built = make()
                mutable.instance = built
                return built
            }
        }

        var isAttached: Bool { mutable.withLock { $0.attachment != nil } }
    }

    /// A registration with its effective settings, as one resolution sees it.
    struct Resolved {
        let entry: Entry
        let settings: ServiceSettings?
        var priority: Priority { settings?.priority.map { Priority($0) } ?? entry.basePriority }
        var isEnabled: Bool { settings?.enabled ?? true }
    }

    struct State {
        var slots: [ServiceID: [Entry]] = [:]
        var sequence: UInt64 = 0
        var overrides = ServiceOverrides()
        /// The plugin each wildcard's row is bound to (the slot's winner when it was materialised).
        var forwards: [ServiceID: PluginID] = [:]

        func resolved(_ slot: ServiceID) -> [Resolved] {
            let winner = forwards[slot]
            return (slots[slot] ?? [])
                .map { Resolved(entry: $0, settings: overrides.effective(plugin: $0.pluginId, slot: slot, forwardedTo: winner)) }
                .sorted { ($0.priority, -Int64($0.entry.sequence)) > ($1.priority, -Int64($1.entry.sequence)) }
        }
    }

    let state = Mutex(State())

    /// An empty registry.
    public init() {}

    // MARK: Registering

    /// Registers an instance built now.
    public func registerSingleton<S: Sendable>(_ id: ServiceID, plugin: PluginID, priority: Priority = .normal,
                                               capabilities: [any Capability] = [], _ instance: S) throws(RegistryError) {
        let entry = makeEntry(id, plugin: plugin, kind: .singleton, priority: priority, capabilities: capabilities,
                              stateful: instance is any StatefulPluginService) { instance }
        entry.mutable.withLock { $0.instance = instance }
        try insert(entry)
    }

    /// Registers a service built on first resolve, then cached.
    public func registerLazySingleton<S: Sendable>(_ id: ServiceID, plugin: PluginID, priority: Priority = .normal,
                                                   capabilities: [any Capability] = [],
                                                   _ make: @escaping @Sendable () -> S) throws(RegistryError) {
        try insert(makeEntry(id, plugin: plugin, kind: .lazySingleton, priority: priority, capabilities: capabilities,
                             stateful: S.self is any StatefulPluginService.Type, make))
    }

    /// Registers a service built anew on every resolve. A stateful service is rejected.
    public func registerFactory<S: Sendable>(_ id: ServiceID, plugin: PluginID, priority: Priority = .normal,
                                             capabilities: [any Capability] = [],
                                             _ make: @escaping @Sendable () -> S) throws(RegistryError) {
        if S.self is any StatefulPluginService.Type { throw .statefulFactory(id, plugin: plugin) }
        try insert(makeEntry(id, plugin: plugin, kind: .factory, priority: priority, capabilities: capabilities,
                             stateful: false, make))
    }

    private func makeEntry(_ id: ServiceID, plugin: PluginID, kind: RegistrationKind, priority: Priority,
                           capabilities: [any Capability], stateful: Bool,
                           _ make: @escaping @Sendable () -> any Sendable) -> Entry {
        let sequence = state.withLock { state -> UInt64 in
            state.sequence += 1
            return state.sequence
        }
        return Entry(pluginId: plugin, serviceId: id, kind: kind, basePriority: priority, sequence: sequence,
                     capabilities: capabilities, isStateful: stateful, make: make)
    }

    private func insert(_ entry: Entry) throws(RegistryError) {
        let refused: RegistryError? = state.withLock { state in
            var list = state.slots[entry.serviceId] ?? []
            if let index = list.firstIndex(where: { $0.pluginId == entry.pluginId }) {
                if list[index].isAttached { return .replacingAttachedService(entry.serviceId, plugin: entry.pluginId) }
                list.remove(at: index)
            }
            list.append(entry)
            state.slots[entry.serviceId] = list
            return nil
        }
        if let refused { throw refused }
    }

    /// Removes every registration of `plugin`; returns the slots it had.
    @discardableResult
    public func unregisterAll(plugin: PluginID) -> [ServiceID] {
        state.withLock { state in
            var removed: [ServiceID] = []
            for (slot, list) in state.slots where list.contains(where: { $0.pluginId == plugin }) {
                let rest = list.filter { $0.pluginId != plugin }
                state.slots[slot] = rest.isEmpty ? nil : rest
                removed.append(slot)
            }
            return removed.sorted()
        }
    }

    // MARK: Settings

    /// Installs `overrides` and materialises each wildcard onto its slot's current winner.
    ///
    /// The winner is decided with the new plugin-specific rows; a plugin that held a wildcard's
    /// row before keeps it while it still wins, so the wildcard's priority does not move on its own.
    /// A wildcard for a slot nobody registered is dropped, as plugin_kit drops it.
    func apply(overrides: ServiceOverrides) {
        state.withLock { state in
            let previous = state.forwards
            state.overrides = overrides
            state.forwards = [:]
            for slot in overrides.wildcards.keys {
                guard let candidates = state.slots[slot], !candidates.isEmpty else {
                    state.overrides.wildcards[slot] = nil
                    continue
                }
                let winner = candidates
                    .map { entry in
                        Resolved(entry: entry, settings: overrides.row(plugin: entry.pluginId, slot: slot, forwardedTo: previous[slot]))
                    }
                    .sorted { ($0.priority, -Int64($0.entry.sequence)) > ($1.priority, -Int64($1.entry.sequence)) }
                    .first(where: \.isEnabled)
                state.forwards[slot] = winner?.entry.pluginId
            }
        }
    }

    /// The overrides in force.
    var overrides: ServiceOverrides { state.withLock { $0.overrides } }

    // MARK: Resolving

    /// The winner of `id` as `S`.
    /// - Throws: ``RegistryError/notRegistered(_:)`` for an empty slot,
    ///   ``RegistryError/allDisabled(_:candidates:)`` when settings disable every registration.
    public func resolve<S>(_ id: ServiceID, as type: S.Type = S.self) throws(RegistryError) -> S {
        let list = state.withLock { $0.resolved(id) }
        guard !list.isEmpty else { throw .notRegistered(id) }
        guard let winner = list.first(where: \.isEnabled) else { throw .allDisabled(id, candidates: list.map(\.entry.pluginId)) }
        return try instance(of: winner, as: S.self)
    }

    /// The winner of `id`, or nil when the slot is empty or disabled.
    public func maybeResolve<S>(_ id: ServiceID, as type: S.Type = S.self) -> S? {
        try? resolve(id, as: S.self)
    }

    /// The next enabled registration after `plugin`'s in `id` (layering).
    /// - Throws: ``RegistryError/noRegistration(_:plugin:)`` when `plugin` has no registration in
    ///   the slot, ``RegistryError/nothingAfter(_:plugin:)`` when no enabled registration follows it.
    public func resolveAfter<S>(plugin: PluginID, serviceId id: ServiceID, as type: S.Type = S.self) throws(RegistryError) -> S {
        let list = state.withLock { $0.resolved(id) }
        guard let index = list.firstIndex(where: { $0.entry.pluginId == plugin }) else { throw .noRegistration(id, plugin: plugin) }
        guard let next = list[(index + 1)...].first(where: \.isEnabled) else { throw .nothingAfter(id, plugin: plugin) }
        return try instance(of: next, as: S.self)
    }

    /// The winning registration of `id`, without building anything.
    public func resolveRaw(_ id: ServiceID) -> ServiceRegistration? {
        state.withLock { $0.resolved(id) }.first(where: \.isEnabled).map(Self.registration)
    }

    /// Every registration of `id`, in resolution order (disabled ones included).
    public func registrations(_ id: ServiceID) -> [ServiceRegistration] {
        state.withLock { $0.resolved(id) }.map(Self.registration)
    }

    /// Every slot with at least one registration.
    public var slots: [ServiceID] {
        state.withLock { $0.slots.filter { !$0.value.isEmpty }.keys.sorted() }
    }

    /// The slots `plugin` has registrations in.
    public func slots(of plugin: PluginID) -> [ServiceID] {
        state.withLock { $0.slots.filter { $0.value.contains { $0.pluginId == plugin } }.keys.sorted() }
    }

    private static func registration(_ resolved: Resolved) -> ServiceRegistration {
        let entry = resolved.entry
        return ServiceRegistration(pluginId: entry.pluginId, serviceId: entry.serviceId, kind: entry.kind, basePriority: entry.basePriority,
                                   priority: resolved.priority, isEnabled: resolved.isEnabled, settings: resolved.settings,
                                   capabilities: entry.capabilities)
    }

    private func instance<S>(of resolved: Resolved, as type: S.Type) throws(RegistryError) -> S {
        let entry = resolved.entry
        let value = entry.kind == .factory ? entry.make() : entry.builtInstance()
        if let service = value as? any PluginService {
            let config = ConfigNode(resolved.settings?.config ?? [:])
            let hash = config.hashValue
            let inject = entry.kind == .factory || entry.mutable.withLock { mutable -> Bool in
                defer { mutable.injectedHash = hash }
                return mutable.injectedHash != hash
            }
            if inject {
                service.configure(ServiceConfiguration(pluginId: entry.pluginId, serviceId: entry.serviceId, config: config))
            }
        }
        guard let typed = value as? S else {
            throw .typeMismatch(entry.serviceId, expected: String(describing: S.self), actual: String(describing: Swift.type(of: value)))
        }
        return typed
    }
}
