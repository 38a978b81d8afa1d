#if canImport(Glibc)
import Glibc
#endif

/// The start of a ``CgroupController``: stale parents removed, v2 controllers enabled, this
/// supervisor's parent group made in every hierarchy with the aggregate limits written.
struct CgroupSetup {
    private(set) var layout: CgroupLayout
    private(set) var removedStaleGroups: [String] = []
    private(set) var staleCleanupFailures: [CgroupError] = []

    init(discovery: CgroupDiscovery, configuration: CgroupController.Configuration) throws(CgroupError) {
        var plan = CgroupPlan(discovery, unifiedTracking: configuration.unifiedTracking)
        let parentName = "\(configuration.name)-\(getpid())"

        for hierarchy in plan.hierarchies {
            let stale = CgroupCleanup.staleParents(in: hierarchy.ownDirectory, prefix: configuration.name,
                                                   hierarchyPath: hierarchy.directory(ofProcess:))
            for name in stale {
                let path = hierarchy.ownDirectory + "/" + name
                do {
                    try CgroupCleanup.removeTree(path)
                    removedStaleGroups.append(path)
                } catch {
                    staleCleanupFailures.append(error)
                }
            }
        }

        if let index = plan.hierarchies.firstIndex(where: { $0.version == .v2 }) {
            Self.enableUnifiedControllers(in: &plan, index: index, leafName: parentName + "-supervisor")
        }

        var parents: [String] = []
        var refused: [Int: String] = [:]
        for (index, hierarchy) in plan.hierarchies.enumerated() {
            let parent = hierarchy.ownDirectory + "/" + parentName
            do {
                try CgroupFiles.makeDirectory(parent)
                parents.append(parent)
            } catch {
                refused[index] = "cannot make the parent group: \(error)"
            }
        }
        plan.remove(hierarchies: refused)
        layout = CgroupLayout(plan: plan, parents: parents, legacySwapLimit: false, unifiedSwapLimit: false, cpuCapPercent: nil)

        do {
            try finish(aggregate: configuration.aggregate)
        } catch {
            removeParents()
            throw error
        }
    }

    /// Removes the parent groups (a failed start).
    func removeParents() {
        for parent in layout.parents { try? CgroupCleanup.removeTree(parent) }
    }

    private mutating func finish(aggregate: CgroupAggregateLimits) throws(CgroupError) {
        let plan = layout.plan
        if let index = plan.hierarchies.firstIndex(where: { $0.version == .v2 }) {
            let controllers = plan.served.filter { $0.value == index }.keys.compactMap(\.v2Controller).sorted()
            for controller in controllers {
                try CgroupFiles.write("+\(controller)", to: layout.parents[index] + "/cgroup.subtree_control")
            }
        }
        if let index = plan.served[.memory] {
            let v1 = plan.hierarchies[index].version == .v1
            layout.legacySwapLimit = v1 && CgroupFiles.exists(layout.parents[index] + "/memory.memsw.limit_in_bytes")
            layout.unifiedSwapLimit = !v1 && CgroupFiles.exists(layout.parents[index] + "/memory.swap.max")
        }

        let processors = CgroupLayout.onlineProcessors
        let settings = CgroupSettings(memoryBytes: aggregate.memoryBytes,
                                      cpuPercent: aggregate.cpuPercentOfMachine.map { max($0, 1) * processors },
                                      cpuWeight: nil, pids: aggregate.pids.map { max($0, 1) })
        let asked: [(CgroupResource, Bool)] = [(.memory, settings.memoryBytes != nil), (.cpu, settings.cpuPercent != nil), (.pids, settings.pids != nil)]
        for (resource, wanted) in asked where wanted && plan.served[resource] == nil {
            throw CgroupError(.notEngaged, path: "/proc/self/cgroup",
                              detail: "aggregate \(resource) limit: " + (plan.missing[resource] ?? "not engaged"))
        }
        if let index = plan.served[.cpu], plan.hierarchies[index].version == .v1, settings.cpuPercent != nil {
            try CgroupFiles.write(String(CgroupSettings.periodMicroseconds), to: layout.parents[index] + "/cpu.cfs_period_us")
        }
        if let index = plan.served[.memory], plan.hierarchies[index].version == .v1, settings.memoryBytes != nil {
            let hierarchical = layout.parents[index] + "/memory.use_hierarchy"
            if (try? CgroupFiles.readText(hierarchical))?.hasPrefix("0") == true { try CgroupFiles.write("1", to: hierarchical) }
        }
        for write in settings.writes(from: CgroupSettings(), layout: layout) {
            try CgroupFiles.write(write.value, to: layout.parents[write.hierarchy] + "/" + write.file)
        }
        layout.cpuCapPercent = settings.cpuPercent
    }

    /// Enables the v2 controllers the plan puts in the unified hierarchy in our own group's
    /// `cgroup.subtree_control`. A v2 group with processes cannot enable controllers for its
    /// children (EBUSY): then the supervisor moves itself into a leaf `leafName` and tries again.
    /// A controller that still cannot be enabled is degraded with the reason.
    private static func enableUnifiedControllers(in plan: inout CgroupPlan, index: Int, leafName: String) {
        let own = plan.hierarchies[index].ownDirectory
        let control = own + "/cgroup.subtree_control"
        let resources = plan.served.filter { $0.value == index }.keys.filter { $0.v2Controller != nil }
        var movedIntoLeaf = false
        for resource in resources.sorted(by: { $0.description < $1.description }) {
            guard let controller = resource.v2Controller else { continue }
            let enabled = (try? CgroupFiles.readText(control))?.split(whereSeparator: \.isWhitespace).contains { $0 == controller } ?? false
            if enabled { continue }
            do {
                try CgroupFiles.write("+\(controller)", to: control)
            } catch where error.errno == .resourceBusy && !movedIntoLeaf {
                movedIntoLeaf = true
                do {
                    let leaf = own + "/" + leafName
                    try CgroupFiles.makeDirectory(leaf)
                    try CgroupFiles.write("0", to: leaf + "/cgroup.procs")
                    try CgroupFiles.write("+\(controller)", to: control)
                } catch {
                    plan.degrade(resource, reason: "cannot enable \(controller) in \(control): \(error)"
                        + " (the supervisor's v2 group has other processes; run it in a delegated group of its own)")
                }
            } catch {
                plan.degrade(resource, reason: "cannot enable \(controller) in \(control): \(error)")
            }
        }
    }
}

extension CgroupPlan {
    /// Marks `resource` as not engaged.
    mutating func degrade(_ resource: CgroupResource, reason: String) {
        served[resource] = nil
        missing[resource] = reason
    }

    /// Drops the hierarchies at the given indices, degrading what they served with the reason.
    mutating func remove(hierarchies refused: [Int: String]) {
        guard !refused.isEmpty else { return }
        for (resource, index) in served {
            if let reason = refused[index] { degrade(resource, reason: reason) }
        }
        let kept = hierarchies.indices.filter { refused[$0] == nil }
        served = served.compactMapValues { kept.firstIndex(of: $0) }
        hierarchies = kept.map { hierarchies[$0] }
    }
}
