import PluginWire
import XCTest
@testable import PluginSupervisor

/// Rate limits, heartbeats, CPU budgets and session restarts as tables, on a test clock.
final class SupervisionValueTests: XCTestCase {
    private let start = ContinuousClock.now

    func testTokenBucket_admitsBurstThenRefillsAtRate() {
        var bucket = TokenBucket(rate: 10, burst: 3, now: start)
        XCTAssertEqual((0..<5).map { _ in bucket.take(now: start) }, [true, true, true, false, false])
        XCTAssertTrue(bucket.take(now: start + .milliseconds(100)), "one token back after 100 ms at 10/s")
        XCTAssertFalse(bucket.take(now: start + .milliseconds(100)))
        XCTAssertTrue(bucket.take(now: start + .seconds(10)))
    }

    func testInboundLimiter_logFlood_isNamedBreach() {
        var policy = InboundPolicy()
        policy.logRecords = .init(perSecond: 5, burst: 5)
        var limiter = InboundLimiter(policy: policy, now: start)
        for _ in 0..<5 { XCTAssertNil(limiter.admitLog(textLength: 10, now: start)) }
        XCTAssertEqual(limiter.admitLog(textLength: 10, now: start), "sent more than 5 log records a second")
    }

    func testInboundLimiter_unsolicitedRepliesAndErrors_areBounded() {
        var policy = InboundPolicy()
        policy.unsolicited = .init(perSecond: 2, burst: 2)
        policy.errors = .init(perSecond: 1, burst: 1)
        var limiter = InboundLimiter(policy: policy, now: start)
        XCTAssertNil(limiter.admitUnsolicited("response 9", now: start))
        XCTAssertNil(limiter.admitUnsolicited("response 9", now: start))
        XCTAssertNotNil(limiter.admitUnsolicited("response 9", now: start))
        XCTAssertNil(limiter.admitError(now: start))
        XCTAssertNotNil(limiter.admitError(now: start))
    }

    func testHeartbeat_pongMustAnswerTheOutstandingPing() {
        var heartbeat = Heartbeat(now: start)
        XCTAssertNotNil(heartbeat.received(Pong(id: 1), at: start), "no ping outstanding")
        heartbeat.sent(7, at: start)
        XCTAssertNotNil(heartbeat.received(Pong(id: 8), at: start), "wrong id")
        XCTAssertNil(heartbeat.received(Pong(id: 7), at: start))
        XCTAssertNotNil(heartbeat.received(Pong(id: 7), at: start), "answered twice")
    }

    func testHeartbeat_silenceIsBlamedOnlyWhenNotExcused() {
        var heartbeat = Heartbeat(now: start)
        XCTAssertTrue(heartbeat.isPingDue(now: start + .seconds(1), interval: .milliseconds(500)))
        heartbeat.sent(1, at: start)
        XCTAssertFalse(heartbeat.isPingDue(now: start + .seconds(2), interval: .milliseconds(500)), "one ping at a time")
        let late = start + .seconds(4)
        XCTAssertNil(heartbeat.hang(now: late, timeout: .seconds(3), excused: true), "the supervisor did not look")
        XCTAssertNotNil(heartbeat.hang(now: late, timeout: .seconds(3), excused: false))
        XCTAssertNil(heartbeat.hang(now: start + .seconds(2), timeout: .seconds(3), excused: false))
    }

    func testHeartbeat_busyHandlerPastTimeout_isNamed() {
        var heartbeat = Heartbeat(now: start)
        heartbeat.sent(1, at: start)
        _ = heartbeat.received(Pong(id: 1, busy: BusyHandler(event: "InjectFault", sinceMilliseconds: 2_500)), at: start)
        XCTAssertNil(heartbeat.hang(now: start + .milliseconds(200), timeout: .seconds(3), excused: false))
        let verdict = heartbeat.hang(now: start + .seconds(1), timeout: .seconds(3), excused: false)
        XCTAssertTrue(verdict?.contains("InjectFault") ?? false, verdict ?? "nil")
    }

    func testSessionStateMachine_restartsThenGivesUp() {
        var session = SessionStateMachine(policy: .onCrash(maxRestarts: 1, within: .seconds(60), initialBackoff: .milliseconds(5)))
        XCTAssertEqual(session.workerReady(), .started)
        XCTAssertEqual(session.workerEnded(.signaled(SIGSEGV), now: start), .restart(.signaled(SIGSEGV), after: .milliseconds(5), attempt: 1))
        XCTAssertTrue(session.restartDue())
        XCTAssertEqual(session.workerReady(), .restarted(attempt: 1))
        guard case .end(let cause) = session.workerEnded(.signaled(SIGSEGV), now: start + .seconds(1)) else { return XCTFail() }
        XCTAssertTrue(cause.description.contains("given up"), cause.description)
        XCTAssertTrue(session.isEnded)
    }

    func testSessionStateMachine_operatorRestart_startsANewWorkerWithoutChargingThePolicy() {
        var session = SessionStateMachine(policy: .never)
        _ = session.workerReady()
        XCTAssertTrue(session.requestRestart())
        XCTAssertEqual(session.workerEnded(.killedByOperator, now: start), .operatorRestart(attempt: 1))
        XCTAssertTrue(session.restartDue())
        XCTAssertEqual(session.workerReady(), .restarted(attempt: 1))
        XCTAssertEqual(session.restartCount, 0, "an operator's restart is not a crash restart")
        XCTAssertEqual(session.workerEnded(.signaled(SIGSEGV), now: start), .end(.signaled(SIGSEGV)), "the policy still says never")
    }

    func testSessionStateMachine_killAfterARestartRequest_ends() {
        var session = SessionStateMachine(policy: .never)
        _ = session.workerReady()
        XCTAssertTrue(session.requestRestart())
        XCTAssertEqual(session.kill(), .killWorker)
        XCTAssertEqual(session.workerEnded(.killedByOperator, now: start), .end(.killedByOperator))
    }

    func testSessionStateMachine_operatorKillNeverRestarts() {
        var session = SessionStateMachine(policy: .onCrash())
        _ = session.workerReady()
        XCTAssertEqual(session.kill(), .killWorker)
        XCTAssertEqual(session.workerEnded(.signaled(SIGSEGV), now: start), .end(.signaled(SIGSEGV)))
    }

    func testSessionStateMachine_firstStartFailing_endsWithoutRestart() {
        var session = SessionStateMachine(policy: .onCrash())
        XCTAssertEqual(session.workerEnded(.startFailed("attach failed"), now: start), .end(.startFailed("attach failed")))
    }

    func testSessionStateMachine_disposeWhileRestarting_endsNow() {
        var session = SessionStateMachine(policy: .onCrash(initialBackoff: .seconds(1)))
        _ = session.workerReady()
        _ = session.workerEnded(.signaled(SIGSEGV), now: start)
        XCTAssertEqual(session.dispose(), .endNow(.disposed))
        XCTAssertFalse(session.restartDue())
    }

    func testLogText_escapesControlCharactersSoNoLineCanBeForged() {
        let forged = "ok\n2026-01-01 info [session=other] forged\u{1B}[31m"
        let escaped = LogText.escaped(forged)
        XCTAssertFalse(escaped.contains("\n"))
        XCTAssertFalse(escaped.contains("\u{1B}"))
        XCTAssertTrue(escaped.hasPrefix("ok\\n2026"), escaped)
        XCTAssertTrue(LogText.escaped(String(repeating: "x", count: 10_000), limit: 100).hasSuffix("…(cut)"))
    }
}
