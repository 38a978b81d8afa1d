import PluginSandbox
import PluginWire
import XCTest
@testable import PluginSupervisor

/// The worker's life as a table: (state, event) → (action, next state). No process is spawned.
final class WorkerStateMachineTests: XCTestCase {
    private let report = ConfinementReport(layers: [EngagedLayer(name: "seccomp", detail: "notify")])
    private let assignment = SessionAssignment(sessionID: "doc-1", settings: try! RawJSON(validating: Array("{}".utf8)), globalPlugins: ["g"])
    private func hello(pid: Int32 = 42, version: Int = ProtocolVersion.current) -> Hello {
        Hello(protocolVersion: version, pid: pid, plugins: ["p"], build: "test")
    }

    private func machine(assigned: Bool) -> WorkerStateMachine {
        WorkerStateMachine(pid: 42, limits: WorkerLimits(), assignment: assigned ? assignment : nil)
    }

    func testColdStart_bootstrapHelloReady_runsWithWelcomeForItsSession() {
        var machine = machine(assigned: true)
        XCTAssertEqual(machine.bootstrapped(.confined(report, listener: nil)), .readSession)
        guard case .welcome(let welcome) = machine.receivedHello(hello()) else { return XCTFail("expected a welcome") }
        XCTAssertEqual(welcome.sessionID, "doc-1")
        XCTAssertEqual(welcome.globalPlugins, ["g"])
        XCTAssertEqual(machine.receivedReady(Ready(enabledPlugins: ["p"], attachedPlugins: ["p"])), .started(Ready(enabledPlugins: ["p"], attachedPlugins: ["p"])))
        XCTAssertTrue(machine.servesCalls)
        XCTAssertEqual(machine.confinement, report)
    }

    func testSpare_helloWithoutAssignment_waitsThenAssignSendsWelcome() {
        var machine = machine(assigned: false)
        _ = machine.bootstrapped(.confined(report, listener: nil))
        XCTAssertEqual(machine.receivedHello(hello()), .becameSpare)
        XCTAssertFalse(machine.servesCalls)
        XCTAssertEqual(machine.assign(assignment)?.sessionID, "doc-1")
        XCTAssertNil(machine.assign(assignment), "a worker is assigned once")
    }

    func testBootstrap_whenClosedWithoutReport_killsAsConfinementFailed() {
        var machine = machine(assigned: true)
        guard case .kill(let cause) = machine.bootstrapped(nil) else { return XCTFail() }
        XCTAssertEqual(cause.kind, .confinementFailed)
    }

    func testHello_withOtherProtocolVersion_isRefusedNamingBothVersions() {
        var machine = machine(assigned: true)
        _ = machine.bootstrapped(.confined(report, listener: nil))
        guard case .refuse(let failure, let cause) = machine.receivedHello(hello(version: 999)) else { return XCTFail() }
        XCTAssertEqual(failure.code, .versionMismatch)
        XCTAssertTrue(cause.description.contains("999"), cause.description)
        XCTAssertEqual(cause.kind, .handshakeFailed)
    }

    func testHello_claimingAnotherPid_isABreach() {
        var machine = machine(assigned: true)
        _ = machine.bootstrapped(.confined(report, listener: nil))
        guard case .kill(let cause) = machine.receivedHello(hello(pid: 7)) else { return XCTFail() }
        XCTAssertEqual(cause.kind, .protocolBreach)
    }

    func testHello_beforeBootstrapOrTwice_isABreach() {
        var early = machine(assigned: true)
        guard case .kill(let cause) = early.receivedHello(hello()) else { return XCTFail() }
        XCTAssertEqual(cause.kind, .protocolBreach)

        var twice = machine(assigned: true)
        _ = twice.bootstrapped(.confined(report, listener: nil))
        _ = twice.receivedHello(hello())
        guard case .kill(let second) = twice.receivedHello(hello()) else { return XCTFail() }
        XCTAssertEqual(second.kind, .protocolBreach)
    }

    func testReady_outOfTurn_isABreach() {
        var machine = machine(assigned: false)
        _ = machine.bootstrapped(.confined(report, listener: nil))
        _ = machine.receivedHello(hello())
        guard case .kill(let cause) = machine.receivedReady(Ready(enabledPlugins: [], attachedPlugins: [])) else { return XCTFail() }
        XCTAssertEqual(cause.kind, .protocolBreach)
    }

    func testAdmission_bySupervisorOnlyKindsAndPhase() {
        var machine = machine(assigned: true)
        _ = machine.bootstrapped(.confined(report, listener: nil))
        for kind: WireMessage.Kind in [.welcome, .settings, .ping, .dispose] {
            XCTAssertNotNil(machine.admits(kind), "\(kind) is never accepted from a worker")
        }
        for kind: WireMessage.Kind in [.emit, .request, .pong, .emitResult, .cancel] {
            XCTAssertNotNil(machine.admits(kind), "\(kind) before ready")
        }
        XCTAssertNil(machine.admits(.log))
        _ = machine.receivedHello(hello())
        _ = machine.receivedReady(Ready(enabledPlugins: [], attachedPlugins: []))
        for kind: WireMessage.Kind in [.emit, .request, .pong, .emitResult, .response, .settingsResult, .cancel, .bye, .log, .error] {
            XCTAssertNil(machine.admits(kind), "\(kind) while running")
        }
    }

    func testBye_twice_isABreach() {
        var machine = machine(assigned: true)
        XCTAssertNil(machine.receivedBye())
        XCTAssertNotNil(machine.receivedBye())
    }

    func testStartFailure_whileStarting_killsWithTheWorkersReport() {
        var machine = machine(assigned: true)
        _ = machine.bootstrapped(.confined(report, listener: nil))
        _ = machine.receivedHello(hello())
        let cause = machine.startFailed(WireFailure(code: .internal, message: "plugin p failed to attach: boom"))
        XCTAssertEqual(cause?.kind, .startFailed)
        XCTAssertTrue(cause?.detail?.contains("boom") ?? false)
    }

    func testRecordedCause_firstWinsAndOutranksTheExitStatus() {
        var machine = machine(assigned: true)
        machine.record(.killedByOperator)
        machine.record(.protocolBreach("later"))
        XCTAssertEqual(machine.exited(ExitObservation(status: .signaled(SIGKILL, coreDumped: false))), .killedByOperator)
        XCTAssertNil(machine.exited(ExitObservation(status: .exited(0))), "a worker ends once")
    }

    func testDispose_whileRunning_sendsDisposeAndCleanExitIsDisposed() {
        var machine = machine(assigned: true)
        _ = machine.bootstrapped(.confined(report, listener: nil))
        _ = machine.receivedHello(hello())
        _ = machine.receivedReady(Ready(enabledPlugins: [], attachedPlugins: []))
        XCTAssertEqual(machine.dispose(), .sendDispose)
        XCTAssertEqual(machine.dispose(), .none)
        XCTAssertEqual(machine.exited(ExitObservation(status: .exited(0))), .disposed)
    }

    func testDispose_beforeReady_killsAndReportsDisposed() {
        var machine = machine(assigned: true)
        guard case .kill = machine.dispose() else { return XCTFail() }
        XCTAssertEqual(machine.exited(ExitObservation(status: .signaled(SIGKILL, coreDumped: false)))?.kind, .disposed)
    }
}

/// How an observed end becomes a cause, as a table.
final class ExitClassifierTests: XCTestCase {
    private func classify(_ status: TerminationStatus, recorded: ExitCause? = nil, disposing: Bool = false,
                          oom: Bool = false, words: String? = nil) -> ExitCause {
        var observation = ExitObservation(status: status)
        observation.killedForMemory = oom
        observation.memoryPeakBytes = oom ? 260 << 20 : nil
        observation.memoryLimitBytes = oom ? 256 << 20 : nil
        observation.lastWords = words
        return ExitClassifier.classify(observation, recorded: recorded, disposing: disposing, greeted: true)
    }

    func testTable() {
        XCTAssertEqual(classify(.signaled(SIGSEGV, coreDumped: false)), .signaled(SIGSEGV))
        XCTAssertEqual(classify(.exited(3)), .exited(code: 3))
        XCTAssertEqual(classify(.exited(0), disposing: true), .disposed)
        XCTAssertEqual(classify(.signaled(SIGKILL, coreDumped: false), recorded: .protocolBreach("flood")), .protocolBreach("flood"))
        XCTAssertEqual(classify(.signaled(SIGXCPU, coreDumped: false)).kind, .resourceLimit)
        XCTAssertEqual(classify(.signaled(SIGSYS, coreDumped: false)).kind, .seccompViolation)
    }

    func testOOMKill_isAMemoryLimitWithTheRealFigures() {
        let cause = classify(.signaled(SIGKILL, coreDumped: false), oom: true)
        XCTAssertEqual(cause.kind, .memoryLimit)
        XCTAssertTrue(cause.detail?.contains("260 MiB") ?? false, cause.description)
        XCTAssertTrue(cause.detail?.contains("256 MiB") ?? false, cause.description)
    }

    func testSupervisorRecordedCause_outranksTheKernelsVerdict() {
        XCTAssertEqual(classify(.signaled(SIGKILL, coreDumped: false), recorded: .killedByOperator, oom: true), .killedByOperator)
    }

    func testCrash_carriesTheWorkersLastWords() {
        let cause = classify(.signaled(SIGILL, coreDumped: false), words: "Fatal error: boom")
        XCTAssertTrue(cause.description.contains("Fatal error: boom"), cause.description)
    }
}
