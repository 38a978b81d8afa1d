import Foundation
import SystemPackage
import XCTest

@testable import PluginSandbox

/// A worker joins the cgroups the supervisor names before anything else: a cgroup v1 `cgroup.procs`
/// it writes itself, and a cgroup v2 directory it starts in (`CLONE_INTO_CGROUP` from a zygote).
final class CgroupJoinTests: XCTestCase {
    private var created: [String] = []

    override func tearDown() {
        for directory in created.reversed() { rmdir(directory) }
        created.removeAll()
    }

    /// A fresh cgroup in the hierarchy mounted at `root`, or a skip when it is not mounted.
    private func makeCgroup(in root: String) throws -> String {
        guard FileManager.default.fileExists(atPath: root + "/cgroup.procs") else { throw XCTSkip("\(root) is not a cgroup hierarchy here") }
        let path = root + "/plugin-sandbox-test-\(UUID().uuidString.prefix(8))"
        guard mkdir(path, 0o755) == 0 else { throw XCTSkip("cannot create \(path): errno \(errno)") }
        created.append(path)
        return path
    }

    func testExecWorker_joinsTheCgroupsItIsGiven() async throws {
        let v1 = try makeCgroup(in: "/sys/fs/cgroup/pids")
        let v2 = try makeCgroup(in: "/sys/fs/cgroup/unified")
        let procs = try FileDescriptor.open(v1 + "/cgroup.procs", .writeOnly, options: .closeOnExec)
        defer { try? procs.close() }
        let directory = try FileDescriptor.open(v2, .readOnly, options: [.directory, .closeOnExec])
        defer { try? directory.close() }
        let spawner = try WorkerSpawner(mode: .exec, executable: try SpawnProbeRunner.executable)
        let worker = try await spawner.spawn(SpawnRequest(
            sessionID: "cgroup", profile: SandboxProfile(name: "probe"), joinDescriptors: [procs], cgroupDirectory: directory))
        defer { SpawnInProcessTests.release(worker) }
        XCTAssertEqual(try SpawnInProcessTests.readLine(worker.socket), "ready \(worker.pid)")
        let cgroups = try String(contentsOfFile: "/proc/\(worker.pid)/cgroup", encoding: .utf8)
        XCTAssertTrue(cgroups.contains(":pids:/\(URL(fileURLWithPath: v1).lastPathComponent)\n"), cgroups)
        XCTAssertTrue(cgroups.contains("0::/\(URL(fileURLWithPath: v2).lastPathComponent)\n"), cgroups)
    }

    func testZygoteWorker_startsInTheCgroupsItIsGiven() throws {
        let v1 = try makeCgroup(in: "/sys/fs/cgroup/pids")
        let v2 = try makeCgroup(in: "/sys/fs/cgroup/unified")
        let result = try SpawnProbeRunner.run("cgroup", "zygote", v1 + "/cgroup.procs", v2)
        let cgroups = try XCTUnwrap(result["cgroups"] as? [String])
        XCTAssertTrue(cgroups.contains { $0.hasSuffix(":pids:/\(URL(fileURLWithPath: v1).lastPathComponent)") }, "\(cgroups)")
        XCTAssertTrue(cgroups.contains("0::/\(URL(fileURLWithPath: v2).lastPathComponent)"), "\(cgroups)")
    }

    func testSpawn_withMoreJoinDescriptorsThanAMessageCarries_isRefused() async throws {
        let spawner = try WorkerSpawner(mode: .exec, executable: try SpawnProbeRunner.executable)
        let many = Array(repeating: FileDescriptor.standardInput, count: SpawnRequest.maximumJoinDescriptors + 1)
        do {
            _ = try await spawner.spawn(SpawnRequest(sessionID: "many", profile: SandboxProfile(name: "probe"), joinDescriptors: many))
            XCTFail("spawned with too many join descriptors")
        } catch {
            XCTAssertEqual(error.step, .encodeRequest)
            XCTAssertEqual(error.errno, EINVAL)
        }
    }
}
