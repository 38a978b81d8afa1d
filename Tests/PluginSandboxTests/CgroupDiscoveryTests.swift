import XCTest
@testable import PluginSandbox

/// Which hierarchy serves each resource, from `/proc/self/mountinfo` and `/proc/self/cgroup` as
/// other machines write them (this machine's own is tested for real in the other cgroup tests).
final class CgroupDiscoveryTests: XCTestCase {
    /// This project's machines: v1 controllers, an empty cgroup2 at /sys/fs/cgroup/unified.
    private let hybridMounts = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """
    private let hybridMemberships = """
        9:name=systemd:/
        8:pids:/
        4:memory:/process_api/ab12
        2:cpuacct:/
        1:cpu:/
        0::/
        """

    private func discover(_ mounts: String, _ memberships: String, v2: Set<String>?) -> CgroupDiscovery {
        CgroupDiscovery.resolve(mounts: CgroupDiscovery.parseMountInfo(mounts), memberships: CgroupDiscovery.parseMemberships(memberships)) { _ in v2 }
    }

    func testHybridMachine_putsEveryControllerOnV1UnderOurOwnGroups() {
        let plan = CgroupPlan(discover(hybridMounts, hybridMemberships, v2: ["hugetlb"]), unifiedTracking: false)
        XCTAssertEqual(plan.missing, [:])
        let directories = Dictionary(uniqueKeysWithValues: plan.served.map { ($0.key, plan.hierarchies[$0.value].ownDirectory) })
        XCTAssertEqual(directories, [.memory: "/sys/fs/cgroup/memory/process_api/ab12", .cpu: "/sys/fs/cgroup/cpu",
                                     .cpuAccounting: "/sys/fs/cgroup/cpuacct", .pids: "/sys/fs/cgroup/pids"])
        XCTAssertTrue(plan.hierarchies.allSatisfy { $0.version == .v1 })
        XCTAssertEqual(plan.hierarchies.last?.mountPoint, "/sys/fs/cgroup/cpu", "the cpu hierarchy is joined last")
    }

    func testHybridMachine_withUnifiedTracking_joinsV2FirstAndCountsCPUThere() {
        let plan = CgroupPlan(discover(hybridMounts, hybridMemberships, v2: ["hugetlb"]), unifiedTracking: true)
        XCTAssertEqual(plan.hierarchies.first?.version, .v2)
        XCTAssertEqual(plan.served[.cpuAccounting], 0)
        XCTAssertEqual(plan.hierarchies.count, 4, "unified, memory, pids, cpu: cpuacct is not needed")
    }

    func testUnifiedMachine_putsEverythingOnV2() {
        let mounts = "25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot"
        let plan = CgroupPlan(discover(mounts, "0::/user.slice/app.service\n", v2: ["cpuset", "cpu", "io", "memory", "pids"]), unifiedTracking: false)
        XCTAssertEqual(plan.hierarchies.map(\.ownDirectory), ["/sys/fs/cgroup/user.slice/app.service"])
        XCTAssertEqual(Set(plan.served.keys), Set(CgroupResource.all))
        XCTAssertEqual(plan.missing, [:])
    }

    func testUnifiedMachine_withoutDelegatedControllers_saysWhatIsOffered() {
        let mounts = "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw"
        let plan = CgroupPlan(discover(mounts, "0::/user.slice\n", v2: ["memory"]), unifiedTracking: false)
        XCTAssertNotNil(plan.served[.memory])
        XCTAssertNotNil(plan.served[.cpuAccounting], "every v2 group has cpu.stat")
        let reason = try? XCTUnwrap(plan.missing[.pids])
        XCTAssertEqual(reason, "no pids controller: cgroup2 at /sys/fs/cgroup offers memory to /sys/fs/cgroup/user.slice; no v1 hierarchy binds pids")
    }

    func testCoMountedCPUAndCPUAccounting_shareOneHierarchy() {
        let mounts = """
            30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
            31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
            """
        let plan = CgroupPlan(discover(mounts, "4:cpu,cpuacct:/a\n3:memory:/a\n", v2: nil), unifiedTracking: false)
        XCTAssertEqual(plan.hierarchies.count, 2)
        XCTAssertEqual(plan.served[.cpu], plan.served[.cpuAccounting])
        XCTAssertEqual(plan.hierarchies[plan.served[.cpu] ?? -1].ownDirectory, "/sys/fs/cgroup/cpu,cpuacct/a")
        XCTAssertNotNil(plan.missing[.pids])
    }

    func testBindMountedSubtree_mapsOurPathBelowItsRoot_andOneOutsideIsAProblem() {
        let mounts = """
            40 30 0:32 /docker/c1 /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory
            41 30 0:36 /docker/c1 /sys/fs/cgroup/pids ro - cgroup cgroup rw,pids
            """
        let discovery = discover(mounts, "4:memory:/docker/c1/app\n8:pids:/elsewhere\n", v2: nil)
        XCTAssertEqual(discovery.legacy.map(\.ownDirectory), ["/sys/fs/cgroup/memory/app"])
        XCTAssertEqual(discovery.problems, ["the v1 hierarchy of pids does not show our group /elsewhere"])
    }

    func testMountInfo_escapedMountPointsAreDecoded() {
        let mounts = CgroupDiscovery.parseMountInfo(#"50 1 0:40 / /mnt/cg\040v2 rw shared:1 - cgroup2 none rw"#)
        XCTAssertEqual(mounts.first?.mountPoint, "/mnt/cg v2")
        XCTAssertEqual(mounts.first?.version, .v2)
    }

    func testCounterParsing_readsNumbersMaxAndKeyedLines() {
        func parse(_ text: String, _ format: CgroupCounter.Format) -> UInt64? {
            Array(text.utf8).withUnsafeBytes { CgroupCounter.parse($0, format: format) }
        }
        XCTAssertEqual(parse("268435456\n", .number(scale: 1)), 268_435_456)
        XCTAssertEqual(parse("max\n", .number(scale: 1)), .max)
        XCTAssertEqual(parse("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", .keyed("oom_kill", scale: 1)), 3)
        XCTAssertEqual(parse("usage_usec 1559\nuser_usec 1559\n", .keyed("usage_usec", scale: 1000)), 1_559_000)
        XCTAssertNil(parse("", .number(scale: 1)))
        XCTAssertNil(parse("12a\n", .number(scale: 1)))
        XCTAssertNil(parse("99999999999999999999999\n", .number(scale: 1)))
        XCTAssertNil(parse("under_oom 0\n", .keyed("oom_kill", scale: 1)))
    }

    func testSettingsWrites_v1MemoryNeverExceedsTheSwapLimit() {
        let plan = CgroupPlan(discover(hybridMounts, hybridMemberships, v2: []), unifiedTracking: false)
        let layout = CgroupLayout(plan: plan, parents: plan.hierarchies.map(\.ownDirectory), legacySwapLimit: true, unifiedSwapLimit: false, cpuCapPercent: nil)
        let small = CgroupSettings(memoryBytes: 32 << 20)
        let large = CgroupSettings(memoryBytes: 64 << 20)
        XCTAssertEqual(small.writes(from: CgroupSettings(), layout: layout).map(\.file), ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"])
        XCTAssertEqual(large.writes(from: small, layout: layout).map(\.file), ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"])
        XCTAssertEqual(CgroupSettings().writes(from: large, layout: layout).map(\.value), ["-1", "-1"])
        XCTAssertEqual(large.writes(from: large, layout: layout), [], "unchanged settings write nothing")
        let cpu = CgroupSettings(cpuPercent: 150, cpuWeight: 50).writes(from: CgroupSettings(), layout: layout)
        XCTAssertEqual(cpu.map { "\($0.file)=\($0.value)" }, ["cpu.cfs_quota_us=150000", "cpu.shares=512"])
    }
}
