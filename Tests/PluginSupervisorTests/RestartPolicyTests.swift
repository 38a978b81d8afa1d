import XCTest
@testable import PluginSupervisor

/// The restart decision as a table, like OTP's supervisor suite: (policy, cause, history) → decision.
final class RestartPolicyTests: XCTestCase {
    private let now = ContinuousClock.now
    private let crash = ExitCause.signaled(SIGSEGV)

    func testNever_whenWorkerCrashes_ends() {
        XCTAssertEqual(RestartPolicy.never.decide(cause: crash, history: [], now: now), .end)
    }

    func testOnCrash_whenFirstCrash_restartsAfterInitialBackoff() {
        let policy = RestartPolicy.onCrash(maxRestarts: 3, within: .seconds(5), initialBackoff: .milliseconds(10))
        XCTAssertEqual(policy.decide(cause: crash, history: [], now: now), .restart(after: .milliseconds(10), attempt: 1))
    }

    func testOnCrash_whenCrashesRepeat_backoffDoublesUpToTheCap() {
        let policy = RestartPolicy.onCrash(maxRestarts: 10, within: .seconds(60), initialBackoff: .milliseconds(10), maximumBackoff: .milliseconds(50))
        let table: [(restartsSoFar: Int, delay: Duration)] = [(0, .milliseconds(10)), (1, .milliseconds(20)), (2, .milliseconds(40)), (3, .milliseconds(50)), (6, .milliseconds(50))]
        for row in table {
            let history = (0..<row.restartsSoFar).map { now - .milliseconds(100 * ($0 + 1)) }
            XCTAssertEqual(policy.decide(cause: crash, history: history, now: now),
                           .restart(after: row.delay, attempt: row.restartsSoFar + 1), "after \(row.restartsSoFar) restarts")
        }
    }

    func testOnCrash_whenIntensityExceededInsideWindow_givesUp() {
        let policy = RestartPolicy.onCrash(maxRestarts: 2, within: .seconds(5))
        let history = [now - .seconds(1), now - .seconds(2)]
        guard case .giveUp(let reason) = policy.decide(cause: crash, history: history, now: now) else {
            return XCTFail("expected give up")
        }
        XCTAssertTrue(reason.contains("2 restarts"), reason)
    }

    func testOnCrash_whenOldRestartsLeftTheWindow_restartsAgain() {
        let policy = RestartPolicy.onCrash(maxRestarts: 2, within: .seconds(5), initialBackoff: .milliseconds(10))
        let history = [now - .seconds(6), now - .seconds(7), now - .seconds(1)]
        XCTAssertEqual(policy.decide(cause: crash, history: history, now: now), .restart(after: .milliseconds(20), attempt: 2))
    }

    func testOnCrash_whenEndingWasRequested_doesNotRestart() {
        let policy = RestartPolicy.onCrash()
        for cause in [ExitCause.disposed, .killedByOperator, .supervisorShutdown, .exited(code: 0)] {
            XCTAssertEqual(policy.decide(cause: cause, history: [], now: now), .end, "\(cause)")
        }
    }

    func testOnCrash_everyFailureKindCountsAsCrash() {
        let policy = RestartPolicy.onCrash(initialBackoff: .milliseconds(1))
        let causes: [ExitCause] = [
            .exited(code: 3), .signaled(SIGABRT), .seccompViolation(syscall: "ptrace"), .memoryLimit("over"),
            .resourceLimit(signal: SIGXCPU, "cpu"), .heartbeatTimeout("silent"), .requestTimeout("slow"),
            .protocolBreach("garbage"), .handshakeFailed("lied"),
        ]
        for cause in causes {
            XCTAssertEqual(policy.decide(cause: cause, history: [], now: now), .restart(after: .milliseconds(1), attempt: 1), "\(cause)")
        }
    }

    func testArgument_parsesCommandLineForms() {
        XCTAssertEqual(RestartPolicy(argument: "never"), .never)
        XCTAssertEqual(RestartPolicy(argument: "on-crash"), .onCrash())
        XCTAssertEqual(RestartPolicy(argument: "on-crash:4/2.5"), .onCrash(maxRestarts: 4, within: .milliseconds(2500)))
        XCTAssertEqual(RestartPolicy(argument: "on-crash:1"), .onCrash(maxRestarts: 1))
        for bad in ["always", "on-crash:", "on-crash:x", "on-crash:1/0", "on-crash:1/2/3", "on-crashes"] {
            XCTAssertNil(RestartPolicy(argument: bad), bad)
        }
    }
}
