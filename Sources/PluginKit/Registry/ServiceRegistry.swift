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
    public let pluginId: PluginId
    /// The slot.
    public let serviceId: ServiceId
    /// How it builds its service.
    public let kind: RegistrationKind
    /// The priority it was registered with.
    public let basePriority: Priority
    /// The priority after settings overrides.
    public let priority: Priority
    /// Whether settings leave it enabled.
    public let isEnabled: Bool
    /// The effective override (plugin-specific merged with the wildcard when it won the slot).
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
/// `*:serviceId`) change enablement, priority and injected configuration.
public final class ServiceRegistry: Sendable {
    final class Entry: Sendable {
        let pluginId: PluginId
        let serviceId: ServiceId
        let kind: RegistrationKind
        let basePriority: Priority
        let sequence: UInt64
        let capabilities: [any Capability]
        let make: @Sendable () -> any Sendable
        let isStateful: Bool
        struct Mutable {
            var instance: (any Sendable)?
            var settings: ServiceSettings?
            var injectedHash: Int?
            var attached = false
        }
        let mutable: Mutex<Mutable>

        init(pluginId: PluginId, serviceId: ServiceId, kind: RegistrationKind, basePriority: Priority, sequence: UInt64,
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

        var settings: ServiceSettings? { mutable.withLock { $0.settings } }
        var priority: Priority { settings?.priority.map { Priority($0) } ?? basePriority }
        var isEnabled: Bool { settings?.enabled ?? true }
    }

    private struct State {
        var slots: [ServiceId: [Entry]] = [:]
        var sequence: UInt64 = 0
        var overrides: [ServiceKey: ServiceSettings] = [:]
    }

    private let state = Mutex(State())

    /// An empty registry.
    public init() {}

    // MARK: Registering

    /// Registers an instance built now.
    public func registerSingleton<S: Sendable>(_ id: ServiceId, plugin: PluginId, priority: Priority = .normal,
                                               capabilities: [any Capability] = [], _ instance: S) throws(RegistryError) {
        let entry = try makeEntry(id, plugin: plugin, kind: .singleton, priority: priority, capabilities: capabilities,
                                  stateful: instance is any StatefulPluginService) { instance }
        entry.mutable.withLock { $0.instance = instance }
        try insert(entry)
    }

    /// Registers a service built on first resolve, then cached.
    public func registerLazySingleton<S: Sendable>(_ id: ServiceId, plugin: PluginId, priority: Priority = .normal,
                                                   capabilities: [any Capability] = [],
                                                   _ make: @escaping @Sendable () -> S) throws(RegistryError) {
        try insert(try makeEntry(id, plugin: plugin, kind: .lazySingleton, priority: priority, capabilities: capabilities,
                                 stateful: S.self is any StatefulPluginService.Type, make))
    }

    /// Registers a service built anew on every resolve. A stateful service is rejected.
    public func registerFactory<S: Sendable>(_ id: ServiceId, plugin: PluginId, priority: Priority = .normal,
                                             capabilities: [any Capability] = [],
                                             _ make: @escaping @Sendable () -> S) throws(RegistryError) {
        if S.self is any StatefulPluginService.Type { throw .statefulFactory(id, plugin: plugin) }
        try insert(try makeEntry(id, plugin: plugin, kind: .factory, priority: priority, capabilities: capabilities,
                                 stateful: false, make))
    }

    private func makeEntry(_ id: ServiceId, plugin: PluginId, kind: RegistrationKind, priority: Priority,
                           capabilities: [any Capability], stateful: Bool,
                           _ make: @escaping @Sendable () -> any Sendable) throws(RegistryError) -> Entry {
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
                if list[index].mutable.withLock({ $0.attached }) {
                    return .replacingAttachedService(entry.serviceId, plugin: entry.pluginId)
                }
                list.remove(at: index)
            }
            list.append(entry)
            state.slots[entry.serviceId] = list
            Self.applyOverrides(state.overrides, to: &state.slots, only: entry.serviceId)
            return nil
        }
        if let refused { throw refused }
    }

    /// Removes every registration of `plugin`; returns the slots it had.
    @discardableResult
    public func unregisterAll(plugin: PluginId) -> [ServiceId] {
        state.withLock { state in
            var removed: [ServiceId] = []
            for (slot, list) in state.slots where list.contains(where: { $0.pluginId == plugin }) {
                state.slots[slot] = list.filter { $0.pluginId != plugin }
                removed.append(slot)
                Self.applyOverrides(state.overrides, to: &state.slots, only: slot)
            }
            return removed.sorted()
        }
    }

    // MARK: Settings

    /// Applies service overrides: plugin-specific ones to their registration, then each wildcard
    /// onto the winner of its slot, merged (see ``ServiceSettings/merged(withWildcard:)``).
    func apply(overrides: [ServiceKey: ServiceSettings]) {
        state.withLock { state in
            state.overrides = overrides
            Self.applyOverrides(overrides, to: &state.slots, only: nil)
        }
    }

    private static func applyOverrides(_ overrides: [ServiceKey: ServiceSettings], to slots: inout [ServiceId: [Entry]], only: ServiceId?) {
        for (slot, list) in slots where only == nil || only == slot {
            for entry in list {
                entry.mutable.withLock { $0.settings = overrides[ServiceKey(plugin: entry.pluginId, service: slot)] }
            }
            if let wildcard = overrides[ServiceKey(plugin: nil, service: slot)], let winner = ordered(list).first(where: \.isEnabled) {
                let specific = winner.settings ?? ServiceSettings()
                winner.mutable.withLock { $0.settings = specific.merged(withWildcard: wildcard) }
            }
        }
    }

    private static func ordered(_ list: [Entry]) -> [Entry] {
        list.sorted { ($0.priority, -Int64($0.sequence)) > ($1.priority, -Int64($1.sequence)) }
    }

    // MARK: Resolving

    /// The winner of `id` as `S`.
    public func resolve<S>(_ id: ServiceId, as type: S.Type = S.self) throws(RegistryError) -> S {
        guard let entry = winner(id) else { throw .notRegistered(id) }
        return try instance(of: entry, as: S.self)
    }

    /// The winner of `id`, or nil when the slot is empty or disabled.
    public func maybeResolve<S>(_ id: ServiceId, as type: S.Type = S.self) -> S? {
        try? resolve(id, as: S.self)
    }

    /// The next enabled registration after `plugin`'s in `id` (layering); nil when it is the last.
    public func resolveAfter<S>(plugin: PluginId, serviceId id: ServiceId, as type: S.Type = S.self) throws(RegistryError) -> S? {
        let list = ordered(id)
        guard let index = list.firstIndex(where: { $0.pluginId == plugin }) else { throw .noRegistration(id, plugin: plugin) }
        guard let next = list[(index + 1)...].first(where: \.isEnabled) else { return nil }
        return try instance(of: next, as: S.self)
    }

    /// The winning registration of `id`, without building anything.
    public func resolveRaw(_ id: ServiceId) -> ServiceRegistration? {
        winner(id).map(Self.registration)
    }

    /// Every registration of `id`, in resolution order (disabled ones included).
    public func registrations(_ id: ServiceId) -> [ServiceRegistration] {
        ordered(id).map(Self.registration)
    }

    /// Every slot with at least one registration.
    public var slots: [ServiceId] {
        state.withLock { $0.slots.filter { !$0.value.isEmpty }.keys.sorted() }
    }

    /// The slots `plugin` has registrations in.
    public func slots(of plugin: PluginId) -> [ServiceId] {
        state.withLock { $0.slots.filter { $0.value.contains { $0.pluginId == plugin } }.keys.sorted() }
    }

    private func ordered(_ id: ServiceId) -> [Entry] {
        Self.ordered(state.withLock { $0.slots[id] ?? [] })
    }

    private func winner(_ id: ServiceId) -> Entry? {
        ordered(id).first(where: \.isEnabled)
    }

    private static func registration(_ entry: Entry) -> ServiceRegistration {
        ServiceRegistration(pluginId: entry.pluginId, serviceId: entry.serviceId, kind: entry.kind, basePriority: entry.basePriority,
                            priority: entry.priority, isEnabled: entry.isEnabled, settings: entry.settings, capabilities: entry.capabilities)
    }

    private func instance<S>(of entry: Entry, as type: S.Type) throws(RegistryError) -> S {
        let value: any Sendable
        if entry.kind == .factory {
            value = entry.make()
        } else {
            value = entry.mutable.withLock { mutable in
                if let existing = mutable.instance { return existing }
                let built = entry.make()
                mutable.instance = built
                return built
            }
        }
        if let service = value as? any PluginService {
            let settings = entry.settings
            let config = ConfigNode(settings?.config ?? [:])
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

    // MARK: Stateful services

    /// The built stateful singletons `plugin` registered (building lazy ones).
    func statefulServices(of plugin: PluginId) -> [(Entry, any StatefulPluginService)] {
        let entries = state.withLock { state in state.slots.values.flatMap { $0 }.filter { $0.pluginId == plugin && $0.isStateful } }
        return entries.compactMap { entry in
            let value = entry.mutable.withLock { mutable -> any Sendable in
                if let existing = mutable.instance { return existing }
                let built = entry.make()
                mutable.instance = built
                return built
            }
            guard let service = value as? any StatefulPluginService else { return nil }
            return (entry, service)
        }
    }
}
