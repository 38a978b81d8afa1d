import Foundation
import XCTest

@testable import PluginSandbox

/// A uid is never handed to a new worker while a live worker holds it.
final class IdentityLeaseTests: XCTestCase {
    func testPool_leasesDistinctIdsThenRefusesWithAClearError() throws {
        let pool = WorkerIdentityPool(range: 10..<13)
        let leases = try (0..<3).map { _ in try pool.lease() }
        XCTAssertEqual(Set(leases.map(\.identity.uid)), [10, 11, 12])
        XCTAssertEqual(leases.map(\.identity.gid), leases.map(\.identity.uid))
        XCTAssertThrowsError(try pool.lease()) { error in
            let spawnError = error as? SpawnError
            XCTAssertEqual(spawnError?.step, .identityExhausted)
            XCTAssertTrue("\(error)".contains("10..<13"), "\(error)")
        }
        leases[1].release()
        leases[1].release()
        XCTAssertEqual(pool.leasedCount, 2, "a second release changes nothing")
        XCTAssertEqual(try pool.lease().identity.uid, 11)
    }

    func testSpawner_whileAWorkerLives_neverGivesItsUidToAnother() async throws {
        let pool = WorkerIdentityPool(range: 300_000..<300_002)
        let spawner = try WorkerSpawner(mode: .exec, executable: try SpawnProbeRunner.executable, identities: pool)
        let profile = try SandboxProfile.named("default")
        let first = try await spawner.spawn(SpawnRequest(sessionID: "first", profile: profile))
        defer { SpawnInProcessTests.release(first) }
        let second = try await spawner.spawn(SpawnRequest(sessionID: "second", profile: profile))
        defer { SpawnInProcessTests.release(second) }
        XCTAssertEqual(try SpawnInProcessTests.readLine(first.socket), "ready \(first.pid)")
        XCTAssertEqual(try SpawnInProcessTests.readLine(second.socket), "ready \(second.pid)")
        XCTAssertNotEqual(Self.uid(of: first.pid), Self.uid(of: second.pid))
        XCTAssertEqual(Self.uid(of: first.pid), first.identity?.uid)
        do {
            _ = try await spawner.spawn(SpawnRequest(sessionID: "third", profile: profile))
            XCTFail("a third worker got a uid while two live workers hold the only two")
        } catch {
            XCTAssertEqual(error.step, .identityExhausted)
        }
        try first.process.signal(SIGKILL)
        XCTAssertEqual(pool.leasedCount, 2, "a worker that has not been reaped keeps its uid")
        _ = try first.process.waitForTermination()
        XCTAssertEqual(pool.leasedCount, 1, "reaping returns the uid")
        let third = try await spawner.spawn(SpawnRequest(sessionID: "third", profile: profile))
        defer { SpawnInProcessTests.release(third) }
        XCTAssertEqual(try SpawnInProcessTests.readLine(third.socket), "ready \(third.pid)")
        XCTAssertEqual(third.identity, first.identity)
        XCTAssertNotEqual(Self.uid(of: third.pid), Self.uid(of: second.pid))
    }

    /// The real uid of a live process.
    static func uid(of pid: Int32) -> UInt32? {
        let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status?.split(separator: "\n").first { $0.hasPrefix("Uid:") }
        return line?.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { UInt32($0) }
    }
}
