#if canImport(Glibc)
import Glibc
#endif
import DemoPlugins
import FaultPlugins
import Foundation
import PluginKit
import PluginSandbox
import PluginWire
import XCTest
@testable import PluginSupervisor

/// The plugin runtime with sessions in real confined worker processes (the built `sandboxctl`,
/// spawned in exec mode under the default profile): plugin_kit's semantics across the boundary.
final class SandboxedRuntimeTests: XCTestCase {
    func testTwoSessions_staySealed() async throws {
        try await TestSandbox.withRuntime { runtime, host in
            let first = try await runtime.createSession(id: "a")
            let second = try await runtime.createSession(id: "b")
            try await first.emit(ThemeChanged(theme: "only-a"))
            let themeA = try await first.request(CurrentThemeRequest())
            let themeB = try await second.request(CurrentThemeRequest())
            XCTAssertEqual(themeA, "only-a")
            XCTAssertEqual(themeB, "default", "an event into one session's bus must not reach another")
            XCTAssertNotEqual(host.supervisor.session("a")?.pid, host.supervisor.session("b")?.pid)
        }
    }

    /// A host that has shut down holds no descriptor: hosts made and ended one after another (each
    /// with sessions, spares and a zygote connection) leave the process's descriptor count where
    /// it was.
    static func descriptorTargets() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap(Int.init).sorted().map { fd in
            "\(fd)→" + ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? "?")
        }
    }

    func testEndedHosts_leaveNoDescriptorBehind() async throws {
        func count() -> Int { ProcessSample.openDescriptorCount(pid: getpid()) ?? 0 }
        // The first host makes what a process keeps for good (the shared cgroup controller).
        try await TestSandbox.withRuntime(configuration: try TestSandbox.configuration(spares: 1)) { runtime, _ in
            _ = try await runtime.createSession(id: "first")
        }
        try await Task.sleep(for: .milliseconds(200))
        let baseline = count()
        for index in 0..<5 {
            try await TestSandbox.withRuntime(configuration: try TestSandbox.configuration(spares: 1)) { runtime, _ in
                _ = try await runtime.createSession(id: SessionID("host-\(index)"))
            }
        }
        var after = count()
        let deadline = ContinuousClock.now + .seconds(5)
        while after > baseline, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            after = count()
        }
        XCTAssertLessThanOrEqual(after, baseline, "five ended hosts left \(after - baseline) descriptors open: \(Self.descriptorTargets().suffix(after - baseline))")
    }

    func testWarmSpare_isKeptAfterTheFirstSession_andTakenByTheNext() async throws {
        let configuration = try TestSandbox.configuration(spares: 1)
        try await TestSandbox.withRuntime(configuration: configuration) { runtime, host in
            let first = try await runtime.createSession(id: "cold")
            let coldLog = host.log(of: first.id)?.entries.map(\.text) ?? []
            XCTAssertFalse(coldLog.contains { $0.contains("spare") }, "the first session starts cold: \(coldLog)")
            // The spare spawned after the first session greets within a few seconds, even on a busy machine.
            var tookSpare = false
            let deadline = ContinuousClock.now + .seconds(20)
            var attempt = 0
            while ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                attempt += 1
                let session = try await runtime.createSession(id: SessionID("warm-\(attempt)"))
                let log = host.log(of: session.id)?.entries.map(\.text) ?? []
                if log.contains(where: { $0.contains("took warm spare worker") }) {
                    tookSpare = true
                    break
                }
            }
            XCTAssertTrue(tookSpare, "no session took a warm spare within 20 s")
            let theme = try await runtime.createSession(id: "after").request(CurrentThemeRequest())
            XCTAssertEqual(theme, "default", "sessions keep working after spares were taken")
        }
    }

    func testSessionToGlobalEmit_mutationIsVisibleInTheWorker() async throws {
        try await TestSandbox.withRuntime { runtime, host in
            let first = try await runtime.createSession(id: "a")
            let second = try await runtime.createSession(id: "b")
            let numbers = [try await first.request(AuditNumberRequest()), try await second.request(AuditNumberRequest())]
            XCTAssertEqual(numbers.sorted(), [1, 2], "the global audit handler's mutation comes back to each worker")
        }
    }

    func testBroadcast_reachesEverySessionAndReportsEach() async throws {
        try await TestSandbox.withRuntime { runtime, host in
            for id in ["a", "b", "c"] { _ = try await runtime.createSession(id: SessionID(id)) }
            let results = await runtime.context.sessions.emit(ThemeChanged(theme: "dark"))
            XCTAssertEqual(Set(results.keys.map(\.rawValue)), ["a", "b", "c"])
            for (_, delivery) in results { XCTAssertEqual(delivery.envelope?.payload.theme, "dark") }
            for session in runtime.sessions {
                let theme = try await session.request(CurrentThemeRequest())
                XCTAssertEqual(theme, "dark")
            }
        }
    }

    func testRequestNotWired_crossesAsTheRuntimesOwnError() async throws {
        struct Unknown: WireRequest { typealias Response = Int }
        try await TestSandbox.withRuntime { runtime, host in
            let session = try await runtime.createSession(id: "a")
            do {
                _ = try await session.request(Unknown())
                XCTFail("expected RequestNotWired")
            } catch let error as RequestNotWired {
                XCTAssertEqual(error.request, "Unknown")
            }
        }
    }

    func testSettingsToggle_reconcilesInsideTheWorkers() async throws {
        try await TestSandbox.withRuntime { runtime, host in
            let session = try await runtime.createSession(id: "a")
            let before = await session.attachedPlugins
            XCTAssertEqual(before, ["editor", "fault"])
            var settings = runtime.settings
            settings.plugins["fault"] = PluginConfig(enabled: false)
            let reports = try await runtime.updateSettings(settings)
            XCTAssertEqual(reports["a"]?.detached, ["fault"])
            let after = await session.attachedPlugins
            XCTAssertEqual(after, ["editor"])
            do {
                _ = try await session.emit(InjectFault(kind: "segfault"))
            } catch {
                XCTFail("the detached fault plugin must not handle anything: \(error)")
            }
        }
    }

    func testFailingAttachInOneWorker_rollsEveryScopeBack() async throws {
        var initial = RuntimeSettings()
        initial.plugins["fault"] = PluginConfig(enabled: false)
        try await TestSandbox.withRuntime { runtime, host in
            _ = try await runtime.updateSettings(initial)
            let first = try await runtime.createSession(id: "a")
            let second = try await runtime.createSession(id: "b")
            var failing = initial
            failing.plugins["fault"] = PluginConfig(enabled: true, config: ["failAttachIn": .string("b")])
            do {
                _ = try await runtime.updateSettings(failing)
                XCTFail("the update must fail")
            } catch {
                XCTAssertTrue("\(error)".contains("refuses to attach in b"), "\(error)")
            }
            XCTAssertEqual(runtime.settings, initial, "the stored settings stay the old ones")
            let attachedA = await first.attachedPlugins
            let attachedB = await second.attachedPlugins
            XCTAssertEqual(attachedA, ["editor"], "session a, which had attached the plugin, was rolled back")
            XCTAssertEqual(attachedB, ["editor"])
        }
    }

    func testSegfaultingPlugin_killsOnlyItsSessionAndIsReported() async throws {
        try await TestSandbox.withRuntime { runtime, host in
            let crashes = CrashLog()
            runtime.globalBus.on(SessionCrashed.self) { crashes.add($0.payload) }
            let victim = try await runtime.createSession(id: "victim")
            let healthy = try await runtime.createSession(id: "healthy")
            _ = try? await victim.emit(InjectFault(kind: "segfault"))
            let crash = await crashes.first()
            XCTAssertEqual(crash?.sessionID, "victim")
            XCTAssertEqual(crash?.cause, .signaled(SIGSEGV))
            let theme = try await healthy.request(CurrentThemeRequest())
            XCTAssertEqual(theme, "default")
            XCTAssertEqual(runtime.sessions.map(\.id.rawValue), ["healthy"])
        }
    }

    /// Each forbidden operation, attempted by plugin code inside a worker confined by the default profile.
    func testForbiddenOperations_endExactlyAsTheProfileSays() async throws {
        try await TestSandbox.withRuntime { runtime, host in
            let deaths: [(fault: String, syscall: String)] = [
                ("ptraceSupervisor", "ptrace"), ("fork", "clone"), ("exec", "execve"),
            ]
            for row in deaths {
                let session = try await runtime.createSession(id: SessionID("s-\(row.fault)"))
                let sandboxed = try XCTUnwrap(host.supervisor.session(session.id.rawValue))
                _ = try? await session.emit(InjectFault(kind: row.fault))
                let cause = try await sandboxed.endedWithin(.seconds(30), "\(#function)")
                XCTAssertEqual(cause, .seccompViolation(syscall: row.syscall), row.fault)
            }
            let refusals: [(fault: String, errno: String)] = [
                // Signals are scoped to the worker (Landlock ABI 6); outside its minimal root nothing exists.
                ("signalSupervisor", "errno 1"), ("network", "errno 13"), ("readOutside", "errno 2"), ("writeOutside", "errno 2"),
                ("fdLeak", "errno 24"),
            ]
            for row in refusals {
                let session = try await runtime.createSession(id: SessionID("r-\(row.fault)"))
                do {
                    _ = try await session.emit(InjectFault(kind: row.fault))
                    XCTFail("\(row.fault) must fail")
                } catch {
                    XCTAssertTrue("\(error)".contains(row.errno), "\(row.fault): \(error)")
                }
                let theme = try await session.request(CurrentThemeRequest())
                XCTAssertEqual(theme, "default", "\(row.fault): the session survives a refused operation")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/plugin-sandbox-escape"))
        }
    }

    func testSustainedTraffic_isDeliveredInOrderWithoutFailure() async throws {
        try await TestSandbox.withRuntime { runtime, host in
            let session = try await runtime.createSession(id: "busy")
            for index in 0..<4000 {
                let answer = try await session.request(WordCountRequest(text: String(repeating: "w ", count: index % 7)))
                XCTAssertEqual(answer, index % 7)
            }
            let theme = try await session.request(CurrentThemeRequest())
            XCTAssertEqual(theme, "default")
        }
    }

    func testThreadBomb_isCappedByTheWorkersProcessLimit() async throws {
        try await TestSandbox.withRuntime { runtime, host in
            let session = try await runtime.createSession(id: "bomb")
            let pid = try XCTUnwrap(host.supervisor.session("bomb")?.pid)
            _ = try? await session.emit(InjectFault(kind: "threadBomb"))
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let threads = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
                .flatMap { Int($0.split(separator: "\t").last ?? "") } ?? .max
            XCTAssertLessThanOrEqual(threads, 64, "RLIMIT_NPROC of the default profile is 64 per worker")
            let theme = try await session.request(CurrentThemeRequest())
            XCTAssertEqual(theme, "default", "the session survives its refused threads")
        }
    }

    func testMemoryLeak_isKilledAtTheProfilesLimit() async throws {
        try await TestSandbox.withRuntime { runtime, host in
            let session = try await runtime.createSession(id: "leaky")
            let sandboxed = try XCTUnwrap(host.supervisor.session("leaky"))
            _ = try? await session.emit(InjectFault(kind: "memoryLeak"))
            let cause = try await sandboxed.endedWithin(.seconds(30), "\(#function)")
            XCTAssertTrue(cause.kind == .memoryLimit || cause.kind == .signaled, "\(cause)")
        }
    }
}

/// Collects SessionCrashed events.
final class CrashLog: Sendable {
    private let events = Mutex<[SessionCrashed]>([])
    func add(_ event: SessionCrashed) { events.withLock { $0.append(event) } }
    func first(timeout: Duration = .seconds(5)) async -> SessionCrashed? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let event = events.withLock({ $0.first }) { return event }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }
}

import Synchronization
