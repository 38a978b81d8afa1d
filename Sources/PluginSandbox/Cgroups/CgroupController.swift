import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Resource control by cgroups for all workers of one supervisor.
///
/// Detects what this machine offers (reading `/proc/self/cgroup` and `/proc/self/mountinfo`):
/// cgroup v2 for each controller our group may enable there, v1 (`memory`, `cpu`, `cpuacct`,
/// `pids`) where it may not, as on hybrid machines. It makes one parent group, `<name>-<pid>`,
/// under the supervisor's own group in every hierarchy it uses, with the aggregate limits of all
/// workers together, and keeps a small pool of empty worker groups below it, refilled on a
/// background queue, so that ``createWorkerGroup(name:limits:)`` is a pick and a few writes.
/// What cannot be engaged is listed in ``engagement`` with the reason. At start it removes the
/// parent groups of supervisors that died without ``shutdown()``.
public final class CgroupController: Sendable {
    /// How the controller is set up.
    public struct Configuration: Sendable {
        /// The parent groups are named `<name>-<supervisor pid>`.
        public var name: String
        /// Limits for all workers together.
        public var aggregate: CgroupAggregateLimits
        /// How many empty worker groups to keep ready (0: make each on demand).
        public var poolSize: Int
        /// The limits most workers will ask for; pooled groups are made with them already written.
        public var expectedLimits: CgroupLimits
        /// Join the unified hierarchy even where it serves no controller (hybrid machines), for
        /// `cgroup.kill` and `CLONE_INTO_CGROUP`. A worker joining v2 by writing `cgroup.procs`
        /// waits for an RCU grace period (measured 12–28 ms here): use it with `clone3`.
        public var unifiedTracking: Bool

        /// Creates a configuration.
        public init(name: String = "pluginsandbox", aggregate: CgroupAggregateLimits = CgroupAggregateLimits(), poolSize: Int = 4,
                    expectedLimits: CgroupLimits = CgroupLimits(), unifiedTracking: Bool = false) {
            self.name = name
            self.aggregate = aggregate
            self.poolSize = poolSize
            self.expectedLimits = expectedLimits
            self.unifiedTracking = unifiedTracking
        }
    }

    /// The layer name profiles use in `allowDegraded`.
    public static let layerName = "cgroup"

    /// Every resource: engaged (version, parent directory) or degraded (reason).
    public let engagement: [CgroupEngagement]
    /// The parent group's directory in every hierarchy used.
    public let parentDirectories: [String]
    /// Parent groups of dead supervisors removed at start.
    public let removedStaleGroups: [String]
    /// Parent groups of dead supervisors that could not be removed (they do not stop the start).
    public let staleCleanupFailures: [CgroupError]

    private let layout: CgroupLayout
    private let poolSize: Int
    private let state: Mutex<State>
    /// Refills the pool and removes retired groups, one job at a time, off the callers' threads.
    private let housekeeping = DispatchQueue(label: "pluginsandbox.cgroup-housekeeping", qos: .utility)

    private struct Pool: Sendable {
        var slots: [CgroupSlot] = []
        var refilling = false
        var template: CgroupSettings
        var sequence = 0
        var refillFailure: CgroupError?
    }

    private enum State: Sendable {
        case running(Pool, aggregate: CgroupCounters)
        case shutDown
    }

    /// Detects the machine's cgroups, removes stale parents, makes this supervisor's parent group
    /// with the aggregate limits, and fills the pool. Throws when an aggregate limit cannot be
    /// engaged or written; a hierarchy that refuses the parent group is reported as degraded.
    public convenience init(configuration: Configuration = Configuration()) throws(CgroupError) {
        try self.init(configuration: configuration, discovery: CgroupDiscovery.current())
    }

    init(configuration: Configuration, discovery: CgroupDiscovery) throws(CgroupError) {
        let name = configuration.name
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw CgroupError(.createGroup, path: name, detail: "the name must be one path component")
        }
        let setup = try CgroupSetup(discovery: discovery, configuration: configuration)
        let layout = setup.layout
        let aggregate = try CgroupCounters(plan: layout.plan, directories: layout.parents)
        var pool = Pool(template: (try? layout.settings(for: configuration.expectedLimits))
            ?? (try? layout.settings(for: CgroupLimits(allowDegraded: true))) ?? CgroupSettings())
        do {
            for _ in 0..<max(configuration.poolSize, 0) {
                pool.sequence += 1
                pool.slots.append(try layout.makeGroup(named: "w\(pool.sequence)", settings: pool.template))
            }
        } catch {
            pool.slots.forEach { $0.closeDescriptors() }
            aggregate.close()
            setup.removeParents()
            throw error
        }
        self.layout = layout
        self.poolSize = max(configuration.poolSize, 0)
        self.engagement = layout.plan.engagement(directories: layout.parents)
        self.parentDirectories = layout.parents
        self.removedStaleGroups = setup.removedStaleGroups
        self.staleCleanupFailures = setup.staleCleanupFailures
        self.state = Mutex(.running(pool, aggregate: aggregate))
    }

    deinit {
        state.withLock { state in
            guard case .running(let pool, let aggregate) = state else { return }
            pool.slots.forEach { $0.closeDescriptors() }
            aggregate.close()
        }
    }

    /// What this machine offers, without making anything (for `sandboxctl doctor`).
    public static func probe(unifiedTracking: Bool = false) -> [CgroupEngagement] {
        do {
            var plan = CgroupPlan(try CgroupDiscovery.current(), unifiedTracking: unifiedTracking)
            var refused: [Int: String] = [:]
            for (index, hierarchy) in plan.hierarchies.enumerated() where access(hierarchy.ownDirectory, W_OK) != 0 {
                refused[index] = "cannot make groups in \(hierarchy.ownDirectory) (uid \(geteuid()); not root and not delegated)"
            }
            plan.remove(hierarchies: refused)
            return plan.engagement()
        } catch {
            return CgroupResource.all.map { CgroupEngagement(resource: $0, state: .degraded(reason: error.description)) }
        }
    }

    /// `cgroup v1: memory cpu cpuacct pids; DEGRADED: ...` for logs and reports.
    public var summary: String {
        var byVersion: [CgroupVersion: [String]] = [:]
        var degraded: [String] = []
        for line in engagement {
            if let version = line.version { byVersion[version, default: []].append("\(line.resource)") } else { degraded.append("\(line)") }
        }
        let parts = [CgroupVersion.v1, .v2].compactMap { version in byVersion[version].map { "\(version): \($0.joined(separator: " "))" } }
        return "cgroup " + (parts + degraded).joined(separator: "; ")
    }

    /// A group for one worker with `limits` written: from the pool when one is ready (then only
    /// the limits that differ from the pooled group's are written), made on the spot otherwise.
    /// The pool is refilled in the background. Throws ``CgroupError/Operation-swift.struct/notEngaged``
    /// for a limit this machine cannot enforce unless `limits.allowDegraded`.
    public func createWorkerGroup(name: String, limits: CgroupLimits) throws(CgroupError) -> WorkerCgroup {
        let settings = try layout.settings(for: limits)
        let picked = try state.withLock { (state) throws(CgroupError) -> (slot: CgroupSlot?, fresh: String) in
            guard case .running(var pool, let aggregate) = state else { throw closedError }
            pool.template = settings
            let index = pool.slots.firstIndex { $0.settings == settings } ?? pool.slots.indices.first
            let slot = index.map { pool.slots.remove(at: $0) }
            if slot == nil { pool.sequence += 1 }
            let fresh = "w\(pool.sequence)"
            state = .running(pool, aggregate: aggregate)
            return (slot, fresh)
        }
        defer { refillIfNeeded() }
        guard var slot = picked.slot else {
            return WorkerCgroup(name: name, limits: limits, slot: try layout.makeGroup(named: picked.fresh, settings: settings),
                                layout: layout, housekeeping: housekeeping)
        }
        do {
            try layout.apply(settings, to: &slot)
        } catch {
            slot.closeDescriptors()
            try? CgroupCleanup.removeGroup(slot.directories)
            throw error
        }
        return WorkerCgroup(name: name, limits: limits, slot: slot, layout: layout, housekeeping: housekeeping)
    }

    /// The readings of the parent group: all workers together.
    public func aggregateUsage() throws(CgroupError) -> CgroupUsage {
        try state.withLock { (state) throws(CgroupError) -> CgroupUsage in
            guard case .running(_, let aggregate) = state else { throw closedError }
            return try aggregate.usage()
        }
    }

    /// The last error of the background refill, if the pool could not be refilled (spawns then
    /// make their groups on the spot and report the error themselves).
    public var refillFailure: CgroupError? {
        state.withLock { state in
            if case .running(let pool, _) = state { return pool.refillFailure }
            return nil
        }
    }

    /// Kills whatever is left in every worker group, removes them and the parent groups. Call at
    /// supervisor shutdown, after the workers have been stopped. Later calls do nothing.
    public func shutdown() throws(CgroupError) {
        let taken = state.withLock { state -> (Pool, CgroupCounters)? in
            guard case .running(let pool, let aggregate) = state else { return nil }
            state = .shutDown
            return (pool, aggregate)
        }
        guard let (pool, aggregate) = taken else { return }
        housekeeping.sync {}
        pool.slots.forEach { $0.closeDescriptors() }
        aggregate.close()
        var failure: CgroupError?
        for parent in layout.parents {
            do {
                try CgroupCleanup.removeTree(parent)
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
    }

    private var closedError: CgroupError {
        CgroupError(.closed, path: parentDirectories.first ?? "", detail: "the controller was shut down")
    }

    private func refillIfNeeded() {
        let start = state.withLock { state -> Bool in
            guard case .running(var pool, let aggregate) = state, !pool.refilling, pool.slots.count < poolSize else { return false }
            pool.refilling = true
            state = .running(pool, aggregate: aggregate)
            return true
        }
        if start { housekeeping.async { [self] in refill() } }
    }

    private func refill() {
        while true {
            let job = state.withLock { state -> (String, CgroupSettings)? in
                guard case .running(var pool, let aggregate) = state else { return nil }
                defer { state = .running(pool, aggregate: aggregate) }
                guard pool.slots.count < poolSize else {
                    pool.refilling = false
                    return nil
                }
                pool.sequence += 1
                return ("w\(pool.sequence)", pool.template)
            }
            guard let (name, settings) = job else { return }
            let made: Result<CgroupSlot, CgroupError>
            do {
                made = .success(try layout.makeGroup(named: name, settings: settings))
            } catch {
                made = .failure(error)
            }
            let orphan = state.withLock { state -> CgroupSlot? in
                guard case .running(var pool, let aggregate) = state else { return try? made.get() }
                defer { state = .running(pool, aggregate: aggregate) }
                switch made {
                case .success(let slot):
                    pool.slots.append(slot)
                    pool.refillFailure = nil
                    return nil
                case .failure(let error):
                    pool.refillFailure = error
                    pool.refilling = false
                    return nil
                }
            }
            if let orphan {
                orphan.closeDescriptors()
                try? CgroupCleanup.removeGroup(orphan.directories)
            }
            if case .failure = made { return }
        }
    }
}
