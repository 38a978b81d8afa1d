#if canImport(Glibc)
import Glibc
#endif
import CPluginLibrary
import PluginSandbox
import PluginWire
import XCTest
@testable import PluginSupervisor

/// How the supervisor names the end of a worker that loads plugin libraries: the interval between
/// its confinement report and its hello is the libraries' (the worker loads them there), so an end
/// in it is `pluginLoadFailed`, with the signal, the syscall and the worker's last words kept.
final class LibraryLoadStateTests: XCTestCase {
    private let report = ConfinementReport(layers: [EngagedLayer(name: "seccomp", detail: "notify")])

    private func loading(_ libraries: [String] = ["/opt/plugins/libspell.so"]) -> WorkerStateMachine {
        var machine = WorkerStateMachine(pid: 42, limits: WorkerLimits(), assignment: nil, libraries: libraries)
        _ = machine.bootstrapped(.confined(report, listener: nil))
        return machine
    }

    func testCrashWhileLoading_isPluginLoadFailed_keepingTheSignalAndLastWords() throws {
        var machine = loading()
        let cause = try XCTUnwrap(machine.exited(ExitObservation(status: .signaled(SIGSEGV, coreDumped: false), lastWords: "constructor ran")))
        XCTAssertEqual(cause.kind, .pluginLoadFailed)
        XCTAssertEqual(cause.signal, SIGSEGV)
        XCTAssertEqual(cause.detail, "while loading plugin library /opt/plugins/libspell.so: signaled (SIGSEGV); last output: constructor ran")
    }

    func testFilterKillWhileLoading_keepsTheSyscall() throws {
        var machine = loading()
        machine.record(.seccompViolation(syscall: "ptrace"))
        let cause = try XCTUnwrap(machine.exited(ExitObservation(status: .signaled(SIGKILL, coreDumped: false))))
        XCTAssertEqual(cause.kind, .pluginLoadFailed)
        XCTAssertEqual(cause.syscall, "ptrace")
    }

    func testWorkersReportWhileLoading_isTheCause() throws {
        var machine = loading()
        let report = WireFailure(code: .startFailed, message: "plugin library /opt/plugins/libspell.so: exports no entry point")
        let cause = try XCTUnwrap(machine.startFailed(report))
        XCTAssertEqual(cause, .pluginLoadFailed(report.message))
        XCTAssertEqual(machine.exited(ExitObservation(status: .signaled(SIGKILL, coreDumped: false))), cause)
    }

    func testEndAfterTheHello_isNotTheLibraries() throws {
        var machine = loading()
        _ = machine.receivedHello(Hello(pid: 42, plugins: ["spell"], build: "test"))
        let cause = try XCTUnwrap(machine.exited(ExitObservation(status: .signaled(SIGSEGV, coreDumped: false))))
        XCTAssertEqual(cause.kind, .signaled)
    }

    func testWorkerWithoutLibraries_isUnchanged() throws {
        var machine = loading([])
        XCTAssertNil(machine.startFailed(WireFailure(code: .startFailed, message: "too early")))
        let cause = try XCTUnwrap(machine.exited(ExitObservation(status: .exited(3))))
        XCTAssertEqual(cause, .exited(code: 3))
    }

    func testRequestedEndWhileLoading_staysRequested() throws {
        var machine = loading()
        machine.record(.supervisorShutdown)
        XCTAssertEqual(machine.exited(ExitObservation(status: .signaled(SIGKILL, coreDumped: false))), .supervisorShutdown)
    }

    func testHeaderProtocolVersion_isTheWireProtocolVersion() {
        XCTAssertEqual(Int(PSL_PROTOCOL_VERSION), ProtocolVersion.current)
    }
}
