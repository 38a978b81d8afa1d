/// Decides which plugins of a scope are enabled: locked ones always, else explicit settings,
/// else stable on / experimental off (the intent); then dependencies cascade transitively.
///
/// A dependency cycle is reported but not broken: members of a cycle whose dependencies are all
/// enabled satisfy each other and stay on (a self-dependency included), as in plugin_kit.
struct Enablement {
    struct Member {
        let id: PluginID
        let dependencies: [PluginID]
        let flags: PluginFlags
    }

    /// Whether a plugin with `flags` is enabled by `config`, ignoring dependencies.
    static func isIntended(flags: PluginFlags, config: PluginConfig?) -> Bool {
        flags.contains(.locked) || (config?.enabled ?? !flags.contains(.experimental))
    }

    /// The members that settings enable, before the dependency cascade.
    static func intended(_ members: [Member], settings: RuntimeSettings) -> Set<PluginID> {
        Set(members.filter { isIntended(flags: $0.flags, config: settings.plugins[$0.id]) }.map(\.id))
    }

    /// Enabled ids after the cascade, and the problems found. `external` are ids enabled in an
    /// outer scope (global plugins, for a session) that satisfy dependencies.
    static func decide(_ members: [Member], settings: RuntimeSettings, external: Set<PluginID>) -> (enabled: Set<PluginID>, problems: [ConfigurationProblem]) {
        let byID = Dictionary(members.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [ConfigurationProblem] = cycles(byID).map { .cycle($0) }
        var enabled = intended(members, settings: settings)
        var changed = true
        while changed {
            changed = false
            for id in enabled.sorted() {
                guard let member = byID[id] else { continue }
                for dependency in member.dependencies where !enabled.contains(dependency) && !external.contains(dependency) {
                    if member.flags.contains(.locked) {
                        let problem = ConfigurationProblem.lockedDependencyMissing(id, dependency: dependency)
                        if !problems.contains(problem) { problems.append(problem) }
                    } else {
                        enabled.remove(id)
                        problems.append(.dependencyDisabled(id, dependency: dependency))
                        changed = true
                        break
                    }
                }
            }
        }
        return (enabled, problems)
    }

    /// Members in dependency order (dependencies first), ties by id; members of a cycle in id order.
    static func order(_ ids: Set<PluginID>, members: [Member]) -> [PluginID] {
        let byID = Dictionary(members.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var result: [PluginID] = []
        var visited: Set<PluginID> = []
        func visit(_ id: PluginID, _ path: Set<PluginID>) {
            guard ids.contains(id), !visited.contains(id), !path.contains(id) else { return }
            for dependency in byID[id]?.dependencies ?? [] { visit(dependency, path.union([id])) }
            guard !visited.contains(id) else { return }
            visited.insert(id)
            result.append(id)
        }
        for id in ids.sorted() { visit(id, []) }
        return result
    }

    /// Every dependency cycle among `members` (each once, starting at its smallest id).
    static func cycles(_ members: [PluginID: Member]) -> [[PluginID]] {
        var found: Set<[PluginID]> = []
        func walk(_ id: PluginID, _ path: [PluginID]) {
            if let start = path.firstIndex(of: id) {
                var cycle = Array(path[start...])
                if let smallest = cycle.indices.min(by: { cycle[$0] < cycle[$1] }) {
                    cycle = Array(cycle[smallest...] + cycle[..<smallest])
                }
                found.insert(cycle)
                return
            }
            guard let member = members[id], path.count <= members.count else { return }
            for dependency in member.dependencies where members[dependency] != nil {
                walk(dependency, path + [id])
            }
        }
        for id in members.keys.sorted() { walk(id, []) }
        return found.sorted { $0.map(\.rawValue).joined() < $1.map(\.rawValue).joined() }
    }
}
