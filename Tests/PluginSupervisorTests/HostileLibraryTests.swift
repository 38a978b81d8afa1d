#if canImport(Glibc)
import Glibc
#endif
import DemoPlugins
import Foundation
import PluginKit
import PluginLibraryFixtures
import PluginSandbox
import Synchronization
import XCTest
@testable import PluginSupervisor

/// Plugin libraries whose load-time code (a C constructor, run inside `dlopen`) attacks, crashes,
/// hangs or allocates, each loaded into a real confined worker beside a bystander session that is
/// asked questions all along: the hostile session fails to start with `pluginLoadFailed`, the
/// bystander loses nothing.
final class HostileLibraryTests: XCTestCase {
    func testLoadTimeCode_runsOnlyOnceEveryLayerIsEngaged() async throws {
        let cause = try await loadFailure(of: "confinement_on_load")
        let detail = cause.detail ?? ""
        XCTAssertTrue(detail.contains("NoNewPrivs: 1"), detail)
        XCTAssertTrue(detail.contains("Seccomp: 2"), detail)
        XCTAssertTrue(detail.contains("CapEff: 0000000000000000"), detail)
        XCTAssertTrue(detail.contains("/etc/passwd: No such file or directory"), detail)
        XCTAssertEqual(cause.exitCode, 9)
    }

    func testCrashingLoad_endsOnlyItsSession() async throws {
        let cause = try await loadFailure(of: "crash_on_load")
        XCTAssertEqual(cause.signal, SIGSEGV)
        XCTAssertTrue(cause.detail?.contains("crash_on_load: load-time code runs") == true, "\(cause)")
    }

    func testHangingLoad_isKilledAtTheHandshakeLimit() async throws {
        let cause = try await loadFailure(of: "hang_on_load", handshake: .seconds(2))
        XCTAssertTrue(cause.detail?.contains("handshakeFailed") == true, "\(cause)")
    }

    func testAllocatingLoad_isStoppedByTheMemoryLimit() async throws {
        let cause = try await loadFailure(of: "allocate_on_load")
        XCTAssertTrue(cause.detail?.contains("memoryLimit") == true || cause.signal == SIGABRT || cause.signal == SIGKILL, "\(cause)")
    }

    func testAttackingLoad_isStoppedByTheFilter_namingTheSyscall() async throws {
        let cause = try await loadFailure(of: "attack_on_load")
        XCTAssertEqual(cause.syscall, "execve", "\(cause)")
        XCTAssertFalse(cause.detail?.contains("escaped") == true, "\(cause)")
    }

    // MARK: Helpers

    /// Creates a bystander session, keeps asking it questions while a session loading the fixture
    /// `name` fails to start, and checks that the bystander answered every question with the same
    /// worker. Returns the failed session's cause.
    private func loadFailure(of name: String, handshake: Duration? = nil) async throws -> ExitCause {
        let path = try PluginLibraryFixtures.compile(name)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try TestSandbox.configuration { configuration in
            guard let handshake else { return }
            configuration.limits = { @Sendable profile in
                var limits = WorkerLimits(profile: profile)
                limits.handshakeTimeout = handshake
                return limits
            }
        }
        return try await TestSandbox.withRuntime(configuration: configuration) { runtime, host in
            let bystander = try await runtime.createSession(id: "bystander")
            let pid = try XCTUnwrap(host.summary(of: "bystander")?.pid)
            let traffic = Traffic()
            let asking = traffic.keepAsking(bystander)
            let failure: SessionError
            do {
                _ = try await runtime.createSession(id: "hostile", options: SandboxSessionOptions(pluginLibraries: [PluginLibraryReference(path: path)]))
                traffic.stop()
                await asking.value
                XCTFail("\(name) loaded")
                throw SessionDidNotEnd()
            } catch let error as SessionError {
                failure = error
            }
            try await Task.sleep(for: .milliseconds(100))
            traffic.stop()
            await asking.value
            XCTAssertEqual(failure.code, .startFailed, "\(failure)")
            XCTAssertTrue(failure.message.contains(path), failure.message)
            traffic.assertEverythingAnswered(moreThan: 0)
            let summary = try XCTUnwrap(host.summary(of: "bystander"))
            XCTAssertEqual(summary.pid, pid, "the bystander's worker changed")
            XCTAssertEqual(summary.state, "running")
            XCTAssertNil(summary.lastCause)
            XCTAssertNil(runtime.session("hostile"), "the failed session is listed")
            let cause = try XCTUnwrap(failure.cause)
            XCTAssertEqual(cause.kind, .pluginLoadFailed, "\(cause)")
            return cause
        }
    }
}

