import Dispatch
import Synchronization
import SystemPackage

/// One reading of every counter of a group (nil: that resource is not engaged here).
public struct CgroupUsage: Sendable, Equatable {
    /// Memory charged now, kernel memory included.
    public var memoryCurrentBytes: UInt64?
    /// The most memory charged at any moment.
    public var memoryPeakBytes: UInt64?
    /// How many times the kernel's OOM killer killed a task of the group.
    public var oomKills: UInt64?
    /// CPU time used by all tasks of the group, including those that have exited.
    public var cpuUsage: Duration?
    /// Tasks (processes and threads) now.
    public var pidsCurrent: UInt64?
}

extension CgroupCounters {
    /// Reads every counter there is.
    func usage() throws(CgroupError) -> CgroupUsage {
        CgroupUsage(memoryCurrentBytes: try memoryCurrent?.read(), memoryPeakBytes: try memoryPeak?.read(),
                    oomKills: try oomKills?.read(), cpuUsage: (try cpuUsage?.read()).map { Duration.nanoseconds(Int64(clamping: $0)) },
                    pidsCurrent: try pidsCurrent?.read())
    }
}

/// One worker's cgroup: its limits, the descriptors the worker joins it through, its counters.
///
/// Made by ``CgroupController/createWorkerGroup(name:limits:)`` before the worker is spawned. The
/// worker writes `0` to each of ``joinDescriptors`` as the first thing it does, while it still has
/// a single thread (a v1 `tasks` file moves the writing thread only). After the worker has died
/// and been reaped, read the figures that classify its end (``oomKills()``,
/// ``memoryPeakBytes()``), then ``destroy()`` the group (or ``retire(onFailure:)`` it, from a
/// thread that must not wait for the kernel). Readings are one `pread` on a descriptor
/// kept open and are safe from any thread. A group released without `destroy()` closes its
/// descriptors; its directories stay until the controller's `shutdown()`.
///
/// The join descriptors were opened by the supervisor: the worker must close them right after
/// joining, before any plugin code runs (a v2 `cgroup.procs` descriptor opened by root would let
/// its holder move other processes into its group).
public final class WorkerCgroup: Sendable {
    private enum State: Sendable {
        case live(CgroupSlot)
        case destroyed
    }

    /// The label the group was created with (a session id, say); the directories have pool names.
    public let name: String
    /// The limits asked for.
    public let limits: CgroupLimits
    /// The group's directory in each hierarchy it spans.
    public let directories: [String]
    /// Which resources this group controls or counts.
    public let engaged: Set<CgroupResource>
    private let state: Mutex<State>
    private let plan: CgroupPlan
    private let settings: CgroupSettings
    private let housekeeping: DispatchQueue?

    init(name: String, limits: CgroupLimits, slot: CgroupSlot, layout: CgroupLayout, housekeeping: DispatchQueue? = nil) {
        self.name = name
        self.limits = limits
        self.directories = slot.directories
        self.engaged = Set(layout.plan.served.keys)
        self.plan = layout.plan
        self.settings = slot.settings
        self.housekeeping = housekeeping
        self.state = Mutex(.live(slot))
    }

    deinit {
        state.withLock { state in
            if case .live(let slot) = state { slot.closeDescriptors() }
        }
    }

    /// The files the worker writes `0` to, to join the group in every hierarchy (write-only,
    /// close-on-exec: pass them explicitly). Empty after ``closeJoinDescriptors()`` or ``destroy()``.
    public var joinDescriptors: [FileDescriptor] {
        state.withLock { state in
            guard case .live(let slot) = state else { return [] }
            return slot.joinDescriptors.map(FileDescriptor.init(rawValue:))
        }
    }

    /// The group's v2 directory (read-only, close-on-exec), for `clone3` with `CLONE_INTO_CGROUP`:
    /// the child starts inside the v2 group and needs no join there. nil where no v2 hierarchy is used.
    public var cloneIntoDescriptor: FileDescriptor? {
        state.withLock { state in
            guard case .live(let slot) = state else { return nil }
            return slot.cloneDescriptor.map(FileDescriptor.init(rawValue:))
        }
    }

    /// Closes the join descriptors once the worker has joined (the supervisor no longer needs them).
    public func closeJoinDescriptors() {
        state.withLock { state in
            guard case .live(var slot) = state else { return }
            slot.joinDescriptors.forEach(CgroupFiles.close)
            slot.joinDescriptors = []
            state = .live(slot)
        }
    }

    /// Memory charged to the group now, in bytes, kernel memory included
    /// (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    public func memoryCurrentBytes() throws(CgroupError) -> UInt64 {
        try read(\.memoryCurrent, .memory, "memory.current")
    }

    /// The group's memory high-water mark in bytes (v1 `memory.max_usage_in_bytes`, v2 `memory.peak`).
    public func memoryPeakBytes() throws(CgroupError) -> UInt64 {
        try read(\.memoryPeak, .memory, "memory.peak")
    }

    /// How many tasks of the group the OOM killer killed (`oom_kill` of v1 `memory.oom_control`,
    /// v2 `memory.events`). Counts kills caused by the aggregate limit too.
    public func oomKills() throws(CgroupError) -> UInt64 {
        try read(\.oomKills, .memory, "oom_kill")
    }

    /// CPU time used by the group's tasks (v1 `cpuacct.usage`, v2 `usage_usec` of `cpu.stat`).
    public func cpuUsage() throws(CgroupError) -> Duration {
        .nanoseconds(Int64(clamping: try read(\.cpuUsage, .cpuAccounting, "cpu usage")))
    }

    /// Tasks (processes and threads) in the group now (`pids.current`).
    public func pidsCurrent() throws(CgroupError) -> UInt64 {
        try read(\.pidsCurrent, .pids, "pids.current")
    }

    /// Every reading at once (nil for resources not engaged here).
    public func usage() throws(CgroupError) -> CgroupUsage {
        try state.withLock { (state) throws(CgroupError) -> CgroupUsage in
            guard case .live(let slot) = state else { throw closedError }
            return try slot.counters.usage()
        }
    }

    /// Kills whatever is left in the group (v2 `cgroup.kill`; v1 SIGKILL to each pid in
    /// `cgroup.procs`, through pidfds) and removes its directories, retrying briefly while exiting
    /// tasks keep it busy. Call after the worker has died. A second call does nothing.
    public func destroy() throws(CgroupError) {
        try state.withLock { (state) throws(CgroupError) in
            guard case .live(let slot) = state else { return }
            try CgroupCleanup.removeGroup(slot.directories)
            slot.closeDescriptors()
            state = .destroyed
        }
    }

    /// Like ``destroy()``, but the removal runs on the controller's background queue, and this
    /// returns at once: for an event loop, which must not wait while the kernel empties the group
    /// (a v1 memory group's `rmdir` can take milliseconds, and exiting tasks keep a group busy).
    /// Readings fail from now on, as after `destroy()`. The controller's `shutdown()` waits for
    /// every removal still queued. `onFailure` runs on that queue if the group could not be
    /// removed. A second call, or one after `destroy()`, does nothing.
    public func retire(onFailure: @escaping @Sendable (CgroupError) -> Void) {
        let taken = state.withLock { state -> CgroupSlot? in
            guard case .live(let slot) = state else { return nil }
            state = .destroyed
            return slot
        }
        guard let slot = taken else { return }
        slot.closeDescriptors()
        let directories = slot.directories
        let remove: @Sendable () -> Void = {
            do throws(CgroupError) {
                try CgroupCleanup.removeGroup(directories)
            } catch {
                onFailure(error)
            }
        }
        if let housekeeping { housekeeping.async(execute: remove) } else { remove() }
    }

    private var closedError: CgroupError {
        CgroupError(.closed, path: directories.first ?? name, detail: "the group was destroyed")
    }

    private func read(_ counter: KeyPath<CgroupCounters, CgroupCounter?>, _ resource: CgroupResource, _ file: String) throws(CgroupError) -> UInt64 {
        try state.withLock { (state) throws(CgroupError) -> UInt64 in
            guard case .live(let slot) = state else { throw closedError }
            return try CgroupCounters.read(slot.counters[keyPath: counter], resource, file: (directories.first ?? name) + "/" + file)
        }
    }

    /// What is enforced, for `inspect`: e.g. `cgroup v1: memory 256 MiB, cpu 100%, pids 64`.
    public var summary: String {
        var byVersion: [CgroupVersion: [CgroupResource]] = [:]
        for resource in [CgroupResource.memory, .cpu, .pids] {
            if let index = plan.served[resource] { byVersion[plan.hierarchies[index].version, default: []].append(resource) }
        }
        var capCause = "the aggregate"
        if let share = limits.cpuPercentOfMachine, let cpu = settings.cpuPercent, cpu == share * CgroupLayout.onlineProcessors {
            capCause = "cpuPercentOfMachine: \(share)% of \(CgroupLayout.onlineProcessors) CPUs"
        }
        var parts = [CgroupVersion.v1, .v2].compactMap { version in
            byVersion[version].map { "\(version): " + settings.describe($0, askedCPU: limits.cpuPercent, capCause: capCause) }
        }
        if plan.usesUnified && byVersion[.v2] == nil { parts.append("v2: tracking") }
        let degraded = limits.requested.filter { plan.served[$0] == nil }.map { "\($0) DEGRADED (\(plan.missing[$0] ?? "not engaged"))" }
        return "cgroup " + (parts + degraded).joined(separator: "; ")
    }
}
