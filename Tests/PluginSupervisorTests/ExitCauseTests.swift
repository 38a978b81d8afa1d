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

    func testAHangAtTheMemoryLimit_isAMemoryLimit_andEveryOtherHangAHeartbeatTimeout() {
        let hang = "handler for InjectFault has run for 1034 ms"
        let limit: UInt64 = 256 << 20
        let atTheLimit = ExitClassifier.hangCause(hang, memoryCurrent: limit - (1 << 20), memoryPeak: limit, memoryLimit: limit)
        XCTAssertEqual(atTheLimit.kind, .memoryLimit)
        XCTAssertEqual(atTheLimit.detail?.split(separator: " ").dropFirst().first, "256", "the peak comes first, as in the kernel's verdict")
        XCTAssertTrue(atTheLimit.detail?.contains(hang) == true, "\(atTheLimit)")
        let rows: [(current: UInt64?, peak: UInt64?, limit: UInt64?, detail: String, why: String)] = [
            (limit - (1 << 20), limit - (16 << 20), limit, hang + " (memory in use: 255 of 256 MiB)", "its peak never reached the limit"),
            (limit / 2, limit, limit, hang + " (memory in use: 128 of 256 MiB)", "it is far below the limit now"),
            (nil, limit, limit, hang, "no memory counter"),
            (limit, limit, nil, hang, "no memory limit"),
            (limit, limit, 0, hang, "a zero limit"),
        ]
        for row in rows {
            XCTAssertEqual(ExitClassifier.hangCause(hang, memoryCurrent: row.current, memoryPeak: row.peak, memoryLimit: row.limit),
                           .heartbeatTimeout(row.detail), row.why)
        }
    }
}
