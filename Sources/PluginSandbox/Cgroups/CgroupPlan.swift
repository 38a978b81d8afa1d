/// Which hierarchy serves each resource on this machine, and why a resource has none.
///
/// v2 wins for a controller it offers (listed in our group's `cgroup.controllers`); otherwise the
/// v1 hierarchy that binds it. CPU accounting follows: v2 `cpu.stat` when any resource lives in
/// v2, else v1 `cpuacct`, else v2 as a last resort (every v2 group has `cpu.stat`).
struct CgroupPlan: Sendable, Equatable {
    /// The hierarchies worker groups are made in, in the order a worker joins them (v2 first,
    /// v1 `cpu` last: joining a new v1 cpu group can leave the task waiting for the next tick).
    var hierarchies: [CgroupHierarchy]
    /// Index into `hierarchies` for each engaged resource.
    var served: [CgroupResource: Int]
    /// The reason for each resource that is not engaged.
    var missing: [CgroupResource: String]

    /// Plans from a discovery. With `unifiedTracking`, the unified hierarchy is joined even when
    /// it serves no controller (process tracking: `cgroup.kill` and `CLONE_INTO_CGROUP`).
    init(_ discovery: CgroupDiscovery, unifiedTracking: Bool) {
        var chosen: [CgroupResource: CgroupHierarchy] = [:]
        var missing: [CgroupResource: String] = [:]
        for resource in [CgroupResource.memory, .cpu, .pids] {
            guard let controller = resource.v2Controller else { continue }
            if let unified = discovery.unified, unified.controllers.contains(controller) {
                chosen[resource] = unified
            } else if let legacy = discovery.legacy.first(where: { $0.controllers.contains(resource.v1Controller) }) {
                chosen[resource] = legacy
            } else {
                missing[resource] = Self.absence(of: controller, in: discovery)
            }
        }
        let usesUnified = chosen.values.contains { $0.version == .v2 } || (unifiedTracking && discovery.unified != nil)
        if usesUnified, let unified = discovery.unified {
            chosen[.cpuAccounting] = unified
        } else if let legacy = discovery.legacy.first(where: { $0.controllers.contains("cpuacct") }) {
            chosen[.cpuAccounting] = legacy
        } else if let unified = discovery.unified {
            chosen[.cpuAccounting] = unified
        } else {
            missing[.cpuAccounting] = Self.absence(of: "cpuacct", in: discovery)
        }

        var hierarchies: [CgroupHierarchy] = []
        for hierarchy in chosen.values where !hierarchies.contains(hierarchy) { hierarchies.append(hierarchy) }
        if unifiedTracking, let unified = discovery.unified, !hierarchies.contains(unified) { hierarchies.append(unified) }
        hierarchies.sort { Self.joinRank($0) < Self.joinRank($1) }
        self.hierarchies = hierarchies
        self.served = chosen.compactMapValues { hierarchy in hierarchies.firstIndex(of: hierarchy) }
        self.missing = missing
    }

    /// Whether worker groups are made in the unified hierarchy.
    var usesUnified: Bool { hierarchies.contains { $0.version == .v2 } }

    /// The engagement of every resource, in report order; `directories` maps a hierarchy index to
    /// the directory worker groups are made in (the parent group), when it differs from our own.
    func engagement(directories: [String]? = nil) -> [CgroupEngagement] {
        CgroupResource.all.map { resource in
            if let index = served[resource] {
                let directory = directories?[index] ?? hierarchies[index].ownDirectory
                return CgroupEngagement(resource: resource, state: .engaged(version: hierarchies[index].version, directory: directory))
            }
            return CgroupEngagement(resource: resource, state: .degraded(reason: missing[resource] ?? "not planned"))
        }
    }

    private static func joinRank(_ hierarchy: CgroupHierarchy) -> Int {
        if hierarchy.version == .v2 { return 0 }
        if hierarchy.controllers.contains("memory") { return 1 }
        if hierarchy.controllers.contains("pids") { return 2 }
        if hierarchy.controllers.contains("cpu") { return 4 }
        return 3
    }

    private static func absence(of controller: String, in discovery: CgroupDiscovery) -> String {
        var parts: [String] = []
        if let unified = discovery.unified {
            let offered = unified.controllers.sorted().joined(separator: " ")
            parts.append("cgroup2 at \(unified.mountPoint) offers \(offered.isEmpty ? "no controllers" : offered) to \(unified.ownDirectory)")
        } else {
            parts.append("no usable cgroup2 mount")
        }
        parts.append("no v1 hierarchy binds \(controller)")
        parts += discovery.problems
        return "no \(controller) controller: " + parts.joined(separator: "; ")
    }
}
