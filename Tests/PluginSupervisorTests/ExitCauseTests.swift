import Foundation
import XCTest
@testable import PluginSupervisor

final class ExitCauseTests: XCTestCase {
    func testDescription_namesSyscallSignalAndDetail() {
        XCTAssertEqual(ExitCause.seccompViolation(syscall: "ptrace").description, "seccompViolation (syscall ptrace)")
        XCTAssertEqual(ExitCause.signaled(SIGSEGV).description, "signaled (SIGSEGV)")
        XCTAssertEqual(ExitCause.exited(code: 3).description, "exited (code 3)")
        XCTAssertEqual(ExitCause.heartbeatTimeout("handler for Tick has run for 4000 ms").description,
                       "heartbeatTimeout: handler for Tick has run for 4000 ms")
    }

    func testCodable_roundTripsEveryField() throws {
        let cause = ExitCause(kind: .resourceLimit, exitCode: nil, signal: SIGXCPU, syscall: nil, detail: "CPU time limit reached")
        let data = try JSONEncoder().encode(cause)
        XCTAssertEqual(try JSONDecoder().decode(ExitCause.self, from: data), cause)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"resourceLimit\""))
    }

    func testIsCrash_distinguishesRequestedEndings() {
        XCTAssertFalse(ExitCause.disposed.isCrash)
        XCTAssertFalse(ExitCause.killedByOperator.isCrash)
        XCTAssertFalse(ExitCause.exited(code: 0).isCrash)
        XCTAssertTrue(ExitCause.exited(code: 1).isCrash)
        XCTAssertTrue(ExitCause.signaled(SIGABRT).isCrash)
    }
}
