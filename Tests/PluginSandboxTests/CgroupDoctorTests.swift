import XCTest
@testable import PluginSandbox

/// `sandboxctl doctor` shows each cgroup resource as engaged (version, where) or DEGRADED (why),
/// and a resource the profile needs blocks spawns unless `allowDegraded` lists `cgroup`.
final class CgroupDoctorTests: XCTestCase {
    private let engagement = [
        CgroupEngagement(resource: .memory, state: .engaged(version: .v1, directory: "/sys/fs/cgroup/memory/a")),
        CgroupEngagement(resource: .cpu, state: .engaged(version: .v2, directory: "/sys/fs/cgroup/a")),
        CgroupEngagement(resource: .cpuAccounting, state: .engaged(version: .v2, directory: "/sys/fs/cgroup/a")),
        CgroupEngagement(resource: .pids, state: .degraded(reason: "no pids controller: no v1 hierarchy binds pids")),
    ]

    func testDoctorRows_showVersionOrReason_andWhatTheProfileAsks() throws {
        let rows = SandboxDoctor.cgroupLayers(profile: try SandboxProfile.named("default"), engagement: engagement)
        XCTAssertEqual(rows.map(\.name), ["cgroup memory", "cgroup cpu", "cgroup cpuacct", "cgroup pids"])
        XCTAssertEqual(rows[0].kernel, "v1 /sys/fs/cgroup/memory/a")
        XCTAssertEqual(rows[0].profile, "256 MiB hard limit, kernel memory included")
        XCTAssertEqual(rows[1].profile, "100% of one CPU, weight 100")
        XCTAssertEqual(rows[2].profile, "budget 30 s of CPU per 60 s")
        XCTAssertEqual(rows[3].kernel, "DEGRADED: no pids controller: no v1 hierarchy binds pids")
        XCTAssertFalse(rows[3].supported)
    }

    func testDegradedResourceTheProfileNeeds_blocksUnlessAllowDegradedListsCgroup() throws {
        var profile = try SandboxProfile.named("default")
        let strictReport = DoctorReport(profileName: "default", kernelRelease: "", root: true,
                                        layers: SandboxDoctor.cgroupLayers(profile: profile, engagement: engagement))
        XCTAssertEqual(strictReport.blocking, ["cgroup pids"])
        profile.allowDegraded.append("cgroup")
        let rows = SandboxDoctor.cgroupLayers(profile: profile, engagement: engagement)
        XCTAssertEqual(DoctorReport(profileName: "default", kernelRelease: "", root: true, layers: rows).blocking, [])
        XCTAssertEqual(rows[3].profile, "64 tasks (allowDegraded: runs without)")
    }

    func testDoctorOnThisMachine_listsEveryCgroupResource() throws {
        let report = SandboxDoctor.report(profile: try SandboxProfile.named("default"))
        let rows = report.layers.filter { $0.name.hasPrefix("cgroup ") }
        XCTAssertEqual(rows.count, CgroupResource.all.count)
        for row in rows where !row.supported { XCTAssertTrue(row.kernel.hasPrefix("DEGRADED: "), row.kernel) }
        for row in rows where row.supported { XCTAssertTrue(row.kernel.hasPrefix("v1 /") || row.kernel.hasPrefix("v2 /"), row.kernel) }
    }
}
