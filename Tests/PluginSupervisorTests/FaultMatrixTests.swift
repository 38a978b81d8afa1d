#if canImport(Glibc)
import Glibc
#endif
import DemoPlugins
import FaultPlugins
import Foundation
import PluginKit
import PluginSandbox
import XCTest
@testable import PluginSupervisor

/// Every fault of the fault plugin, injected into one confined session while a healthy witness
/// session takes sequenced traffic: the faulty session ends (or is refused) exactly as expected,
/// the witness receives every message once and in order, the supervisor's descriptors return to
/// their baseline, and a new session can be spawned afterwards.
final class FaultMatrixTests: XCTestCase {
    enum Outcome {
        case ends(ExitCause.Kind, detail: String?)
        case violation(String)
        case refused(String)
    }

    static let matrix: [(fault: String, outcome: Outcome)] = [
        ("segfault", .ends(.signaled, detail: nil)), ("fatalError", .ends(.signaled, detail: nil)),
        ("precondition", .ends(.signaled, detail: nil)), ("abort", .ends(.signaled, detail: nil)),
        ("exit", .ends(.exited, detail: nil)), ("stackOverflow", .ends(.signaled, detail: nil)),
        ("endlessLoop", .ends(.heartbeatTimeout, detail: "InjectFault")), ("neverRead", .ends(.heartbeatTimeout, detail: "InjectFault")),
        ("memoryLeak", .ends(.memoryLimit, detail: nil)),
        ("fork", .violation("clone")), ("exec", .violation("execve")), ("ptraceSupervisor", .violation("ptrace")),
        // Landlock (ABI 6) scopes signals to the worker: the call is refused, not reported.
        ("signalSupervisor", .refused("errno 1")),
        ("garbageBytes", .ends(.protocolBreach, detail: "invalid frame")), ("oversizedFrame", .ends(.protocolBreach, detail: "invalid frame")),
        ("partialFrame", .ends(.protocolBreach, detail: "invalid frame")), ("frameFlood", .ends(.protocolBreach, detail: "log records")),
        ("lieAboutSession", .ends(.protocolBreach, detail: "second hello")), ("closeSocket", .ends(.exited, detail: nil)),
        // Outside its minimal root nothing exists: reads and writes elsewhere find no such file.
        ("network", .refused("errno 13")), ("readOutside", .refused("errno 2")), ("writeOutside", .refused("errno 2")),
        ("fdLeak", .refused("errno 24")), ("throwError", .refused("threw on command")),
        ("hugeAllocation", .refused("errno 12")),
    ]

    func testMatrix_coversEveryFaultTheFaultPluginKnows() {
        let covered = Set(Self.matrix.map(\.fault)).union(["threadBomb"])
        XCTAssertEqual(covered, Set(FaultPlugin.kinds))
    }

    func testEveryFault_endsOnlyItsSessionAndTheWitnessLosesNothing() async throws {
        let spawner = try WorkerSpawner(mode: .exec, executable: try BuiltProduct.path("sandboxctl"))
        let host = try SandboxedSessionHost(
            spawner: spawner,
            profiles: { try SandboxProfile.named($0 ?? "default") },
            limits: { profile in
                var limits = WorkerLimits(profile: profile)
                limits.heartbeatInterval = .milliseconds(100)
                limits.heartbeatTimeout = .seconds(1)
                return limits
            })
        let runtime = try await PluginRuntime(
            globalPlugins: [ThemePlugin(), AuditPlugin()],
            sessionPlugins: SessionPluginCatalog(DemoCatalog.sessionPlugins + FaultCatalog.sessionPlugins),
            host: host)
        let witness = try await runtime.createSession(id: "witness")
        let baseline = ProcessSample.openDescriptorCount(pid: getpid()) ?? 0
        var sequence = 0
        for row in Self.matrix {
            let victim = try await runtime.createSession(id: SessionID("victim-\(row.fault)"))
            let sandboxed = try XCTUnwrap(host.supervisor.session(victim.id.rawValue))
            let start = sequence
            let sessions = runtime.context.sessions
            let stop = StopFlag()
            let traffic = Task {
                var sent = 0
                while !stop.isSet, sent < 200 {
                    sent += 1
                    _ = await sessions.emit(SoakTick(sequence: start + sent))
                }
                return sent
            }
            var refusal: String?
            do {
                _ = try await victim.emit(InjectFault(kind: row.fault, argument: 3))
            } catch let error as SessionError {
                _ = error
            } catch {
                refusal = "\(error)"
            }
            stop.set()
            sequence += await traffic.value
            switch row.outcome {
            case .ends(let kind, let detail):
                let cause = await sandboxed.ended()
                XCTAssertEqual(cause.kind, kind, "\(row.fault): \(cause)")
                if let detail { XCTAssertTrue(cause.detail?.contains(detail) ?? false, "\(row.fault): \(cause)") }
            case .violation(let syscall):
                let cause = await sandboxed.ended()
                XCTAssertEqual(cause, .seccompViolation(syscall: syscall), row.fault)
            case .refused(let text):
                XCTAssertTrue(refusal?.contains(text) ?? false, "\(row.fault): \(refusal ?? "no refusal")")
                try await victim.dispose()
            }
            let report = try await witness.request(SoakReport())
            XCTAssertEqual(report[0], sequence, "\(row.fault): the witness missed messages")
            XCTAssertEqual(report[1], sequence, "\(row.fault): the witness's last message")
            XCTAssertEqual(report[2], 0, "\(row.fault): the witness saw messages out of order")
        }
        try await Task.sleep(for: .milliseconds(300))
        let after = ProcessSample.openDescriptorCount(pid: getpid()) ?? 0
        XCTAssertLessThanOrEqual(after, baseline + 2, "the supervisor's descriptors did not return to their baseline")
        let fresh = try await runtime.createSession(id: "after-the-matrix")
        let theme = try await fresh.request(CurrentThemeRequest())
        XCTAssertEqual(theme, "default")
        await runtime.dispose()
        await host.supervisor.shutdown()
    }
}

/// Tells a sender to stop between two messages (cancelling it could cut one in half).
final class StopFlag: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var isSet: Bool { flag.withLock { $0 } }
}

import Synchronization
