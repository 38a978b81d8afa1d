import Foundation
import XCTest
@testable import PluginSandbox
#if canImport(Glibc)
import Glibc
#endif

/// The kernel enforces each worker limit on real processes: memory (kernel memory included),
/// CPU quota, pids, and the aggregate limit of all workers together.
final class CgroupLimitTests: XCTestCase {
    func testMemoryLimit_childTouchingFourTimesTheLimit_isOOMKilledAtTheLimit() throws {
        try withController("pstest-oom") { controller in
            let limit: UInt64 = 32 << 20
            let group = try controller.createWorkerGroup(name: "oom", limits: CgroupLimits(memoryBytes: limit))
            defer { XCTAssertNoThrow(try group.destroy()) }
            let child = try CgroupProbeChild(join: group.joinDescriptors, "touch", String(4 * limit))
            XCTAssertEqual(try child.line(), "joined")
            XCTAssertEqual(child.wait(), .signaled(SIGKILL))
            XCTAssertEqual(try group.oomKills(), 1)
            let peak = try group.memoryPeakBytes()
            XCTAssertGreaterThanOrEqual(Double(peak), Double(limit) * 0.9, "peak \(peak)")
            XCTAssertLessThanOrEqual(Double(peak), Double(limit) * 1.1, "peak \(peak)")
        }
    }

    func testMemoryLimit_childWithinTheLimit_survivesWithoutOOMKill() throws {
        try withController("pstest-fits") { controller in
            let group = try controller.createWorkerGroup(name: "fits", limits: CgroupLimits(memoryBytes: 64 << 20))
            defer { XCTAssertNoThrow(try group.destroy()) }
            let child = try CgroupProbeChild(join: group.joinDescriptors, "touch", String(16 << 20))
            XCTAssertEqual(try child.line(), "joined")
            XCTAssertEqual(try child.line(), "touched")
            XCTAssertEqual(child.wait(), .exited(0))
            XCTAssertEqual(try group.oomKills(), 0)
            XCTAssertGreaterThanOrEqual(try group.memoryPeakBytes(), 16 << 20)
        }
    }

    /// Pipe buffers are kernel memory: they are charged to the group (on v1 with this kernel,
    /// kmem is part of `memory.usage_in_bytes`), so they cannot take a worker past its limit.
    func testKernelMemory_pipeBuffersAreChargedToTheGroup() throws {
        try withController("pstest-kmem") { controller in
            let group = try controller.createWorkerGroup(name: "kmem", limits: CgroupLimits(memoryBytes: 256 << 20))
            defer { XCTAssertNoThrow(try group.destroy()) }
            let child = try CgroupProbeChild(join: group.joinDescriptors, "pipes", String(48 << 20))
            XCTAssertEqual(try child.line(), "joined")
            let filled = try XCTUnwrap(UInt64(try child.expect("filled")))
            XCTAssertEqual(filled, 48 << 20)
            XCTAssertGreaterThanOrEqual(try group.memoryCurrentBytes(), filled, "pipe buffers are not charged")
            child.kill()
            child.wait()
        }
    }

    func testKernelMemory_pipeBuffersPastTheLimit_neverTakeTheGroupPastIt() throws {
        try withController("pstest-kmem-limit") { controller in
            let limit: UInt64 = 16 << 20
            let group = try controller.createWorkerGroup(name: "kmem-limit", limits: CgroupLimits(memoryBytes: limit))
            defer { XCTAssertNoThrow(try group.destroy()) }
            let child = try CgroupProbeChild(join: group.joinDescriptors, "pipes", String(4 * limit))
            XCTAssertEqual(try child.line(), "joined")
            if let line = try child.line() {
                // Survived: the kernel refused the buffers past the limit.
                let filled = try XCTUnwrap(UInt64(line.dropFirst("filled ".count)))
                XCTAssertLessThan(filled, limit)
                child.kill()
            }
            child.wait()
            XCTAssertLessThanOrEqual(try group.memoryPeakBytes(), limit)
        }
    }

    /// A spinning child under a 20% quota gets at most 20% of the elapsed time (plus one period
    /// of slack), however idle the machine is: an upper bound the kernel enforces.
    func testCPUQuota_spinningChild_usesAtMostItsShare() throws {
        try withController("pstest-cpu") { controller in
            let group = try controller.createWorkerGroup(name: "spin", limits: CgroupLimits(cpuPercent: 20))
            defer { XCTAssertNoThrow(try group.destroy()) }
            let clock = ContinuousClock()
            let start = clock.now
            let child = try CgroupProbeChild(join: group.joinDescriptors, "spin")
            XCTAssertEqual(try child.line(), "joined")
            Thread.sleep(forTimeInterval: 1.5)
            let used = try group.cpuUsage()
            let elapsed = clock.now - start
            child.kill()
            child.wait()
            XCTAssertGreaterThan(used, .zero, "the spinning child's CPU time is not counted")
            XCTAssertLessThanOrEqual(used, elapsed * 0.2 + .milliseconds(100), "used \(used) of \(elapsed)")
        }
    }

    func testPidsLimit_forkBombPastTheLimit_isRefusedWithEAGAIN() throws {
        try withController("pstest-pids") { controller in
            let group = try controller.createWorkerGroup(name: "forks", limits: CgroupLimits(pids: 8))
            defer { XCTAssertNoThrow(try group.destroy()) }
            let child = try CgroupProbeChild(join: group.joinDescriptors, "forks", "100")
            XCTAssertEqual(try child.line(), "joined")
            XCTAssertEqual(try child.expect("forked"), "7 errno \(EAGAIN)")
            XCTAssertEqual(try group.pidsCurrent(), 8)
            child.kill()
            child.wait()
        }
    }

    /// Two workers each within their own 64 MiB limit, 120 MiB together, under a 96 MiB aggregate:
    /// the kernel OOM-kills one of them, and the parent never passes 96 MiB.
    func testAggregateMemory_appliesToTwoWorkersTogether() throws {
        let aggregate: UInt64 = 96 << 20
        let configuration = CgroupController.Configuration(aggregate: CgroupAggregateLimits(memoryBytes: aggregate), poolSize: 2)
        try withController("pstest-aggregate", configuration) { controller in
            let limits = CgroupLimits(memoryBytes: 64 << 20)
            let first = try controller.createWorkerGroup(name: "first", limits: limits)
            let second = try controller.createWorkerGroup(name: "second", limits: limits)
            defer {
                XCTAssertNoThrow(try first.destroy())
                XCTAssertNoThrow(try second.destroy())
            }
            let holder = try CgroupProbeChild(join: first.joinDescriptors, "hold", String(60 << 20))
            XCTAssertEqual(try holder.line(), "joined")
            XCTAssertEqual(try holder.line(), "touched")
            let toucher = try CgroupProbeChild(join: second.joinDescriptors, "touch", String(60 << 20))
            XCTAssertEqual(try toucher.line(), "joined")
            let toucherEnding = toucher.wait()
            XCTAssertEqual(try first.oomKills() + second.oomKills(), 1, "toucher \(toucherEnding)")
            if toucherEnding == .exited(0) {
                XCTAssertEqual(try first.oomKills(), 1, "the holder was the victim")
            } else {
                XCTAssertEqual(toucherEnding, .signaled(SIGKILL))
            }
            holder.kill()
            holder.wait()
            XCTAssertLessThanOrEqual(try XCTUnwrap(try controller.aggregateUsage().memoryPeakBytes), aggregate)
        }
    }

    /// v1 refuses a child CPU quota above its parent's, so a worker asking more than the aggregate
    /// gets the aggregate's quota, and its summary says so.
    func testAggregateCPU_capsAWorkerAskingForMore() throws {
        let configuration = CgroupController.Configuration(aggregate: CgroupAggregateLimits(cpuPercentOfMachine: 10), poolSize: 1)
        try withController("pstest-cpucap", configuration) { controller in
            let processors = sysconf(Int32(_SC_NPROCESSORS_ONLN))
            let group = try controller.createWorkerGroup(name: "greedy", limits: CgroupLimits(cpuPercent: 100 * processors))
            defer { XCTAssertNoThrow(try group.destroy()) }
            XCTAssertTrue(group.summary.contains("cpu \(10 * processors)%"), group.summary)
            XCTAssertTrue(group.summary.contains("capped by the aggregate"), group.summary)
        }
    }

    /// One profile for small and large machines: a worker gets the smaller of its quota and its
    /// share of all online CPUs, read back from the kernel's file, and its summary says which won.
    func testShareOfTheMachine_capsTheQuotaOnSmallMachinesOnly() throws {
        try withController("pstest-cpushare") { controller in
            let processors = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            let group = try controller.createWorkerGroup(name: "share", limits: CgroupLimits(cpuPercent: 100, cpuPercentOfMachine: 25))
            defer { XCTAssertNoThrow(try group.destroy()) }
            let expected = min(100, 25 * processors)
            XCTAssertTrue(group.summary.contains("cpu \(expected)%"), group.summary)
            if expected < 100 {
                XCTAssertTrue(group.summary.contains("capped by cpuPercentOfMachine: 25% of \(processors) CPUs"), group.summary)
            } else {
                XCTAssertFalse(group.summary.contains("capped"), group.summary)
            }
            let v1 = group.directories.first { FileManager.default.fileExists(atPath: $0 + "/cpu.cfs_quota_us") }
            let v2 = group.directories.first { FileManager.default.fileExists(atPath: $0 + "/cpu.max") }
            if let v1 {
                let quota = try String(contentsOfFile: v1 + "/cpu.cfs_quota_us", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                XCTAssertEqual(quota, String(expected * 1000), "the quota of each 100 ms period, in µs")
            } else if let v2 {
                let max = try String(contentsOfFile: v2 + "/cpu.max", encoding: .utf8)
                XCTAssertTrue(max.hasPrefix("\(expected * 1000) "), max)
            } else {
                throw XCTSkip("the cpu controller is not engaged here: \(group.summary)")
            }

            let alone = try controller.createWorkerGroup(name: "share-only", limits: CgroupLimits(cpuPercentOfMachine: 50))
            defer { XCTAssertNoThrow(try alone.destroy()) }
            XCTAssertTrue(alone.summary.contains("cpu \(50 * processors)%"), "a share alone is a quota: \(alone.summary)")
        }
    }
}
