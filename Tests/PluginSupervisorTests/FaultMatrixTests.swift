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
        /// The session ends with this kind of cause (and a detail containing the text).
        case ends(ExitCause.Kind, detail: String?)
        /// A seccomp violation naming the syscall.
        case violation(String)
        /// The attempt fails inside the plugin with this text; the session lives.
        case refused(String)
        /// The handler returns; the session lives.
        case lives
    }

    struct Row {
        let fault: String
        let outcome: Outcome
        var argument: Int? = 3
        /// A profile of the test's own catalog (nil: default).
        var profile: String?
    }

    static let matrix: [Row] = [
        Row(fault: "segfault", outcome: .ends(.signaled, detail: nil)), Row(fault: "fatalError", outcome: .ends(.signaled, detail: "Fatal error: fault plugin: fatalError on command")),
        Row(fault: "precondition", outcome: .ends(.signaled, detail: nil)), Row(fault: "abort", outcome: .ends(.signaled, detail: nil)),
        Row(fault: "exit", outcome: .ends(.exited, detail: nil)), Row(fault: "stackOverflow", outcome: .ends(.signaled, detail: nil)),
        Row(fault: "endlessLoop", outcome: .ends(.heartbeatTimeout, detail: "InjectFault")),
        Row(fault: "neverRead", outcome: .ends(.heartbeatTimeout, detail: "InjectFault")),
        Row(fault: "memoryLeak", outcome: .ends(.memoryLimit, detail: "limit of 256 MiB")),
        Row(fault: "fork", outcome: .violation("clone")), Row(fault: "exec", outcome: .violation("execve")),
        Row(fault: "ptraceSupervisor", outcome: .violation("ptrace")),
        // Landlock (ABI 6) scopes signals to the worker: the call is refused, not reported.
        Row(fault: "signalSupervisor", outcome: .refused("errno 1")),
        Row(fault: "garbageBytes", outcome: .ends(.protocolBreach, detail: "invalid")),
        Row(fault: "oversizedFrame", outcome: .ends(.protocolBreach, detail: "invalid frame")),
        Row(fault: "partialFrame", outcome: .ends(.heartbeatTimeout, detail: "no answer to a heartbeat")),
        Row(fault: "frameFlood", outcome: .ends(.protocolBreach, detail: "log records")),
        Row(fault: "lieAboutSession", outcome: .ends(.protocolBreach, detail: "hello")),
        Row(fault: "closeSocket", outcome: .ends(.exited, detail: nil)),
        // Outside its minimal root nothing exists: reads and writes elsewhere find no such file.
        Row(fault: "network", outcome: .refused("errno 13")), Row(fault: "readOutside", outcome: .refused("errno 2")),
        Row(fault: "writeOutside", outcome: .refused("errno 2")), Row(fault: "fdLeak", outcome: .refused("errno 24")),
        Row(fault: "throwError", outcome: .refused("threw on command")), Row(fault: "hugeAllocation", outcome: .refused("errno 12")),
        // Attacks on the supervisor and the other sessions.
        Row(fault: "pongFlood", outcome: .ends(.protocolBreach, detail: "answers no ping"), argument: nil),
        Row(fault: "errorFlood", outcome: .ends(.protocolBreach, detail: "error frames"), argument: nil),
        Row(fault: "cancelFlood", outcome: .ends(.protocolBreach, detail: "unsolicited"), argument: nil),
        Row(fault: "replyFlood", outcome: .ends(.protocolBreach, detail: "unsolicited"), argument: nil),
        Row(fault: "byeTwice", outcome: .ends(.protocolBreach, detail: "bye twice")),
        Row(fault: "globalCallFlood", outcome: .ends(.protocolBreach, detail: "global"), argument: 100_000),
        Row(fault: "forgedLogLines", outcome: .lives),
        Row(fault: "logBytesFlood", outcome: .ends(.protocolBreach, detail: "bytes of log text"), argument: nil),
        Row(fault: "outputFlood", outcome: .lives, argument: 500),
        Row(fault: "forgeLifecycleEvent", outcome: .ends(.protocolBreach, detail: "only the supervisor publishes")),
        Row(fault: "spinThread", outcome: .ends(.cpuBudget, detail: "budget"), profile: "tight-cpu"),
        Row(fault: "memoryBurst", outcome: .ends(.memoryLimit, detail: "limit of 256 MiB"), argument: 4096),
        Row(fault: "ownSigsysHandler", outcome: .violation("ptrace")),
        Row(fault: "foreignArchitecture", outcome: .ends(.seccompViolation, detail: nil)),
        Row(fault: "listProcesses", outcome: .refused("sees 1 processes")),
        Row(fault: "statOutside", outcome: .refused("errno 2")),
        Row(fault: "outOfBandData", outcome: .refused("errno 1")),
        Row(fault: "growPipe", outcome: .refused("errno 1")),
        // Two threads contending for one lock in the kernel (the handler's thread among them).
        Row(fault: "lockContention", outcome: .lives, argument: 200_000),
    ]

    func testMatrix_coversEveryFaultTheFaultPluginKnows() {
        let covered = Set(Self.matrix.map(\.fault)).union(["threadBomb"])
        XCTAssertEqual(covered, Set(FaultPlugin.kinds))
    }

    func testEveryFault_endsOnlyItsSessionAndTheWitnessLosesNothing() async throws {
        let profiles = try TestProfiles.directory()
        let configuration = try TestSandbox.configuration { configuration in
            configuration.limits = { profile in
                var limits = WorkerLimits(profile: profile)
                limits.heartbeatInterval = .milliseconds(100)
                limits.heartbeatTimeout = .seconds(1)
                return limits
            }
            configuration.profiles = ProfileCatalog(directories: [profiles])
            // A flood must trip its limit well inside the 1 s heartbeat even when a busy machine
            // reads the attacker's socket slowly (the default allows 2,000 calls a second, in bursts of 4,000).
            configuration.inboundPolicy.globalCalls = .init(perSecond: 1_000, burst: 1_000)
        }
        try await TestSandbox.withRuntime(configuration: configuration) { runtime, host in
            let witness = try await runtime.createSession(id: "witness")
            let baseline = ProcessSample.openDescriptorCount(pid: getpid()) ?? 0
            var sequence = 0
            for row in Self.matrix {
                let victim = try await runtime.createSession(id: SessionID("victim-\(row.fault)"),
                                                             options: SandboxSessionOptions(profile: row.profile))
                let sandboxed = try XCTUnwrap(host.supervisor.session(victim.id.rawValue))
                let start = sequence
                let sessions = runtime.context.sessions
                let stop = StopFlag()
                async let sentTicks: Int = {
                    var sent = 0
                    while !stop.isSet, sent < 200 {
                        sent += 1
                        _ = await sessions.emit(SoakTick(sequence: start + sent))
                    }
                    return sent
                }()
                var refusal: String?
                do {
                    _ = try await victim.emit(InjectFault(kind: row.fault, argument: row.argument))
                } catch let error as SessionError {
                    _ = error
                } catch {
                    refusal = "\(error)"
                }
                stop.set()
                sequence += await sentTicks
                switch row.outcome {
                case .ends(let kind, let detail):
                    let cause = try await sandboxed.endedWithin(.seconds(30), row.fault)
                    XCTAssertEqual(cause.kind, kind, "\(row.fault): \(cause)")
                    if let detail { XCTAssertTrue(cause.description.contains(detail), "\(row.fault): \(cause)") }
                case .violation(let syscall):
                    let cause = try await sandboxed.endedWithin(.seconds(30), row.fault)
                    XCTAssertEqual(cause, .seccompViolation(syscall: syscall), row.fault)
                case .refused(let text):
                    XCTAssertTrue(refusal?.contains(text) ?? false, "\(row.fault): \(refusal ?? "no refusal")")
                    try await victim.dispose()
                case .lives:
                    XCTAssertNil(refusal, row.fault)
                    let theme = try await victim.request(CurrentThemeRequest())
                    XCTAssertEqual(theme, "default", "\(row.fault): the session lives on")
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
        }
    }
}

/// Profiles derived from the shipped ones for tests that need tighter limits.
enum TestProfiles {
    /// A directory holding `tight-cpu` (the default profile with a CPU budget of 1 s per 10 s).
    static func directory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pluginsandbox-test-profiles-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let base = try XCTUnwrap(ProfileCatalog.builtinDocuments["default"])
        let tight = base.replacingOccurrences(of: #""name": "default""#, with: #""name": "tight-cpu""#)
            .replacingOccurrences(of: #""seconds": 30,"#, with: #""seconds": 1,"#)
            .replacingOccurrences(of: #""windowSeconds": 60"#, with: #""windowSeconds": 10"#)
        try tight.write(toFile: directory + "/tight-cpu.json", atomically: true, encoding: .utf8)
        return directory
    }
}

/// Tells a sender to stop between two messages (cancelling it could cut one in half).
final class StopFlag: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var isSet: Bool { flag.withLock { $0 } }
}

import Synchronization
