import Foundation
import Synchronization
import SystemPackage
import XCTest
@testable import PluginSandbox
#if canImport(Glibc)
import Glibc
#endif

/// Worker groups are joined through their descriptors, pooled, destroyed with whatever is left in
/// them, and a dead supervisor's parent group is removed at the next start.
final class CgroupLifecycleTests: XCTestCase {
    func testJoinDescriptors_moveTheChildIntoTheGroupInEveryHierarchy() throws {
        try withController("pstest-join") { controller in
            let group = try controller.createWorkerGroup(name: "join", limits: CgroupLimits(memoryBytes: 64 << 20, cpuPercent: 50, pids: 16))
            defer { XCTAssertNoThrow(try group.destroy()) }
            XCTAssertEqual(group.joinDescriptors.count, group.directories.count)
            let child = try CgroupProbeChild(join: group.joinDescriptors, "wait")
            XCTAssertEqual(try child.line(), "joined")
            for directory in group.directories {
                XCTAssertEqual(try CgroupFiles.processes(in: directory), [child.pid], directory)
            }
            XCTAssertEqual(try group.pidsCurrent(), 1)
            child.kill()
            child.wait()
        }
    }

    func testDestroy_killsLeftoverProcessesAndRemovesEveryDirectory() throws {
        try withController("pstest-destroy") { controller in
            let (group, leftovers) = try groupWithLeftovers(controller, name: "leftovers", count: 3)
            XCTAssertEqual(try group.pidsCurrent(), 3, "the worker's children outlive it")

            try group.destroy()

            for directory in group.directories {
                XCTAssertFalse(FileManager.default.fileExists(atPath: directory), directory)
            }
            for pid in leftovers { XCTAssertTrue(CgroupProbeChild.hasEnded(pid), "leftover \(pid) still runs") }
            XCTAssertThrowsError(try group.memoryCurrentBytes()) { error in
                XCTAssertEqual((error as? CgroupError)?.operation, .closed)
            }
            XCTAssertNoThrow(try group.destroy(), "a second destroy does nothing")
        }
    }

    func testRetire_removesTheGroupAndItsLeftoversInTheBackground() throws {
        try withController("pstest-retire") { controller in
            let (group, leftovers) = try groupWithLeftovers(controller, name: "retired", count: 2)
            let failures = LockedList()

            group.retire { failures.append("\($0)") }

            XCTAssertThrowsError(try group.pidsCurrent(), "a retired group is read no more") { error in
                XCTAssertEqual((error as? CgroupError)?.operation, .closed)
            }
            group.retire { failures.append("second: \($0)") }
            XCTAssertNoThrow(try group.destroy(), "destroying a retired group does nothing")
            // Removed by the controller's queue, before and without its shutdown.
            let deadline = ContinuousClock.now + .seconds(20)
            while group.directories.contains(where: FileManager.default.fileExists(atPath:)), ContinuousClock.now < deadline {
                usleep(10_000)
            }
            for directory in group.directories {
                XCTAssertFalse(FileManager.default.fileExists(atPath: directory), directory)
            }
            for pid in leftovers { XCTAssertTrue(CgroupProbeChild.hasEnded(pid), "leftover \(pid) still runs") }
            XCTAssertEqual(failures.items, [])
        }
    }

    /// A group whose worker forked `count` children and was killed: the children outlive it.
    private func groupWithLeftovers(_ controller: CgroupController, name: String, count: Int) throws -> (WorkerCgroup, [Int32]) {
        let group = try controller.createWorkerGroup(name: name, limits: CgroupLimits(pids: 16))
        let child = try CgroupProbeChild(join: group.joinDescriptors, "forks", String(count))
        XCTAssertEqual(try child.line(), "joined")
        XCTAssertEqual(try child.expect("forked"), "\(count) errno 0")
        let leftovers = try (0..<count).map { _ in try XCTUnwrap(Int32(try child.expect("child"))) }
        child.kill()
        XCTAssertEqual(child.wait(), .signaled(SIGKILL))
        return (group, leftovers)
    }

    func testStaleParent_ofADeadSupervisor_isRemovedAtStartWithWhatRunsInIt() throws {
        guard geteuid() == 0 else { throw XCTSkip("making groups needs root here") }
        let discovery = try CgroupDiscovery.current()
        let plan = CgroupPlan(discovery, unifiedTracking: false)
        guard !plan.hierarchies.isEmpty else { throw XCTSkip("no cgroup hierarchy: \(plan.missing)") }
        let dead = try CgroupProbeChild(join: [], "touch", "0")
        XCTAssertEqual(dead.wait(), .exited(0))
        let stale = plan.hierarchies.map { $0.ownDirectory + "/pstest-stale-\(dead.pid)" }
        var joins: [FileDescriptor] = []
        for (index, directory) in stale.enumerated() {
            try CgroupFiles.makeDirectory(directory)
            try CgroupFiles.makeDirectory(directory + "/w1")
            let file = plan.hierarchies[index].version == .v1 ? "/w1/tasks" : "/w1/cgroup.procs"
            joins.append(FileDescriptor(rawValue: try CgroupFiles.open(directory + file, .writeOnly)))
        }
        let orphan = try CgroupProbeChild(join: joins, "wait")
        joins.forEach { try? $0.close() }
        XCTAssertEqual(try orphan.line(), "joined")

        try withController("pstest-stale", CgroupController.Configuration(poolSize: 0), needs: [], discovery: discovery) { controller in
            // Groups left by an earlier run of this test that was killed are stale too, and go as well.
            XCTAssertTrue(Set(stale).isSubset(of: Set(controller.removedStaleGroups)), "\(controller.removedStaleGroups)")
            XCTAssertTrue(controller.removedStaleGroups.allSatisfy { $0.contains("/pstest-stale-") }, "\(controller.removedStaleGroups)")
            XCTAssertEqual(controller.staleCleanupFailures, [])
        }
        for directory in stale { XCTAssertFalse(FileManager.default.fileExists(atPath: directory), directory) }
        XCTAssertEqual(orphan.wait(), .signaled(SIGKILL))
    }

    func testStaleCleanup_keepsTheParentOfALiveSupervisor() throws {
        guard geteuid() == 0 else { throw XCTSkip("making groups needs root here") }
        let discovery = try CgroupDiscovery.current()
        let plan = CgroupPlan(discovery, unifiedTracking: false)
        guard let hierarchy = plan.hierarchies.first else { throw XCTSkip("no cgroup hierarchy: \(plan.missing)") }
        let alive = try CgroupProbeChild(join: [], "wait")
        let parent = hierarchy.ownDirectory + "/pstest-live-\(alive.pid)"
        try CgroupFiles.makeDirectory(parent)
        defer { _ = CgroupFiles.removeDirectory(parent) }

        try withController("pstest-live", CgroupController.Configuration(poolSize: 0), needs: [], discovery: discovery) { controller in
            XCTAssertEqual(controller.removedStaleGroups, [])
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: parent))
        alive.kill()
        alive.wait()
    }

    func testShutdown_removesTheParentAndPooledGroups_andRefusesNewGroups() throws {
        guard geteuid() == 0 else { throw XCTSkip("making groups needs root here") }
        let controller = try CgroupController(configuration: CgroupController.Configuration(name: "pstest-shutdown", poolSize: 3))
        XCTAssertFalse(controller.parentDirectories.isEmpty)
        for parent in controller.parentDirectories {
            XCTAssertEqual(try CgroupFiles.childGroups(of: parent).count, 3, parent)
        }
        let group = try controller.createWorkerGroup(name: "left", limits: CgroupLimits())
        let child = try CgroupProbeChild(join: group.joinDescriptors, "wait")
        XCTAssertEqual(try child.line(), "joined")

        try controller.shutdown()

        XCTAssertEqual(child.wait(), .signaled(SIGKILL), "a worker left at shutdown is killed")
        for parent in controller.parentDirectories { XCTAssertFalse(FileManager.default.fileExists(atPath: parent), parent) }
        XCTAssertThrowsError(try controller.createWorkerGroup(name: "late", limits: CgroupLimits())) { error in
            XCTAssertEqual((error as? CgroupError)?.operation, .closed)
        }
        XCTAssertNoThrow(try group.destroy(), "destroying a group the shutdown removed does nothing")
    }

    func testPool_isRefilledInTheBackground() throws {
        try withController("pstest-pool", CgroupController.Configuration(poolSize: 2), needs: [.memory]) { controller in
            let groups = try (0..<3).map { try controller.createWorkerGroup(name: "g\($0)", limits: CgroupLimits(memoryBytes: 64 << 20)) }
            defer { for group in groups { XCTAssertNoThrow(try group.destroy()) } }
            let parent = try XCTUnwrap(controller.parentDirectories.first)
            let deadline = Date().addingTimeInterval(30)
            while try CgroupFiles.childGroups(of: parent).count < groups.count + 2, Date() < deadline { usleep(10_000) }
            XCTAssertEqual(try CgroupFiles.childGroups(of: parent).count, groups.count + 2)
            XCTAssertNil(controller.refillFailure)
        }
    }

    func testPooledGroup_askedForOtherLimits_getsThemWritten() throws {
        let configuration = CgroupController.Configuration(poolSize: 1, expectedLimits: CgroupLimits(memoryBytes: 64 << 20, pids: 64))
        try withController("pstest-rewrite", configuration, needs: [.memory, .pids]) { controller in
            let group = try controller.createWorkerGroup(name: "other", limits: CgroupLimits(memoryBytes: 32 << 20, pids: 8))
            defer { XCTAssertNoThrow(try group.destroy()) }
            let child = try CgroupProbeChild(join: group.joinDescriptors, "forks", "100")
            XCTAssertEqual(try child.line(), "joined")
            XCTAssertEqual(try child.expect("forked"), "7 errno \(EAGAIN)")
            child.kill()
            child.wait()
            XCTAssertTrue(group.summary.contains("memory 32 MiB"), group.summary)
        }
    }

    func testMissingController_failsClosed_unlessTheLimitsAllowDegrading() throws {
        var discovery = try CgroupDiscovery.current()
        discovery.legacy.removeAll { $0.controllers.contains("pids") }
        if discovery.unified?.controllers.contains("pids") == true { discovery.unified?.controllers.remove("pids") }
        try withController("pstest-degraded", CgroupController.Configuration(poolSize: 1), needs: [.memory], discovery: discovery) { controller in
            let pids = try XCTUnwrap(controller.engagement.first { $0.resource == .pids })
            XCTAssertTrue(pids.degradedReason?.contains("no pids controller") == true, "\(pids)")
            XCTAssertThrowsError(try controller.createWorkerGroup(name: "strict", limits: CgroupLimits(memoryBytes: 64 << 20, pids: 8))) { error in
                XCTAssertEqual((error as? CgroupError)?.operation, .notEngaged)
                XCTAssertTrue("\(error)".contains("no pids controller"), "\(error)")
            }
            let group = try controller.createWorkerGroup(name: "lenient", limits: CgroupLimits(memoryBytes: 64 << 20, pids: 8, allowDegraded: true))
            defer { XCTAssertNoThrow(try group.destroy()) }
            XCTAssertTrue(group.summary.contains("memory 64 MiB"), group.summary)
            XCTAssertTrue(group.summary.contains("pids DEGRADED"), group.summary)
            XCTAssertThrowsError(try group.pidsCurrent())
        }
    }

    /// With unified tracking the group also lives in the v2 hierarchy: its directory starts a
    /// clone3 child inside it, `cgroup.kill` ends everything, and `cpu.stat` counts the CPU.
    func testUnifiedTracking_cloneIntoCgroupAndCgroupKill() throws {
        let configuration = CgroupController.Configuration(poolSize: 1, unifiedTracking: true)
        guard try CgroupDiscovery.current().unified != nil else { throw XCTSkip("cgroup2 is not mounted here") }
        try withController("pstest-unified", configuration, needs: [.cpuAccounting]) { controller in
            let group = try controller.createWorkerGroup(name: "tracked", limits: CgroupLimits())
            let cloneInto = try XCTUnwrap(group.cloneIntoDescriptor)
            let unified = try XCTUnwrap(group.directories.first)
            let child = try CgroupProbeChild(join: [], pass: [cloneInto], "clone-into", "{passed}")
            let grandchild = try XCTUnwrap(Int32(try child.expect("child")))
            XCTAssertEqual(try CgroupFiles.processes(in: unified), [grandchild], "clone3 placed the child in the v2 group")
            let joined = try CgroupProbeChild(join: group.joinDescriptors, "touch", String(4 << 20))
            XCTAssertEqual(try joined.line(), "joined")
            XCTAssertEqual(joined.wait(), .exited(0))
            XCTAssertGreaterThan(try group.cpuUsage(), .zero, "cpu.stat counts the joined child's CPU time")

            try group.destroy()

            XCTAssertFalse(FileManager.default.fileExists(atPath: unified))
            XCTAssertTrue(CgroupProbeChild.hasEnded(grandchild), "cgroup.kill left \(grandchild) running")
            child.kill()
            child.wait()
        }
    }
}

/// Strings appended from any thread.
private final class LockedList: Sendable {
    private let list = Mutex<[String]>([])
    func append(_ item: String) { list.withLock { $0.append(item) } }
    var items: [String] { list.withLock { $0 } }
}
