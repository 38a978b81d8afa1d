import XCTest
@testable import PluginSupervisor

/// The start limit as a table: (crashes and starts at given times) → admissions.
final class StartLimitTests: XCTestCase {
    private let zero = ContinuousClock.now
    private let limit = StartLimit(crashes: 3, within: .seconds(5), interval: .milliseconds(100), maximumWait: .seconds(1))

    private func at(_ milliseconds: Int) -> ContinuousClock.Instant { zero + .milliseconds(milliseconds) }

    func testStarts_areNotSpaced_belowTheCrashThreshold() {
        var gate = StartGate(limit: limit)
        XCTAssertFalse(gate.crashed(at: at(0)))
        XCTAssertFalse(gate.crashed(at: at(1)))
        for millisecond in 2..<10 { XCTAssertEqual(gate.admit(at: at(millisecond)), .now) }
        XCTAssertEqual(gate.status(at: at(10)), StartLimit.Status(engaged: false, recentCrashes: 2, delayedStarts: 0, refusedStarts: 0, engagements: 0))
    }

    func testStarts_areSpacedByTheInterval_onceTheThresholdIsReached() {
        var gate = StartGate(limit: limit)
        XCTAssertEqual(gate.admit(at: at(0)), .now)
        _ = gate.crashed(at: at(1))
        _ = gate.crashed(at: at(2))
        XCTAssertTrue(gate.crashed(at: at(3)), "the third crash engages the limit")
        // Four starts asked at once take turns 100 ms apart, after the last start (at 0).
        let turns = (0..<4).map { _ in gate.admit(at: at(10)) }
        XCTAssertEqual(turns, [.at(at(100)), .at(at(200)), .at(at(300)), .at(at(400))])
        // A start asked after every turn went waits one interval after the last one.
        XCTAssertEqual(gate.admit(at: at(450)), .at(at(500)))
        XCTAssertEqual(gate.admit(at: at(700)), .now)
        let status = gate.status(at: at(700))
        XCTAssertEqual(status, StartLimit.Status(engaged: true, recentCrashes: 3, delayedStarts: 5, refusedStarts: 0, engagements: 1))
    }

    func testAStart_whoseTurnIsPastTheMaximumWait_isRefusedAndTakesNoTurn() {
        var gate = StartGate(limit: StartLimit(crashes: 1, within: .seconds(5), interval: .milliseconds(400), maximumWait: .milliseconds(500)))
        _ = gate.crashed(at: at(0))
        XCTAssertEqual(gate.admit(at: at(0)), .now)
        XCTAssertEqual(gate.admit(at: at(0)), .at(at(400)))
        guard case .refused(let reason) = gate.admit(at: at(0)) else { return XCTFail("the third turn is 800 ms away") }
        XCTAssertTrue(reason.contains("start limit is engaged") && reason.contains("1 worker crashed within 5000 ms") && reason.contains("turn is 800 ms away, past the 500 ms"), reason)
        XCTAssertEqual(gate.admit(at: at(400)), .at(at(800)), "the refused start took no turn")
        XCTAssertEqual(gate.status(at: at(400)).refusedStarts, 1)
    }

    func testTheLimit_isReleasedOnlyAfterAWholeWindowWithoutACrash() {
        var gate = StartGate(limit: limit)
        for millisecond in 0..<3 { _ = gate.crashed(at: at(millisecond)) }
        // Crashes keep coming, one a second: fewer than three within the window, but it stays engaged.
        _ = gate.crashed(at: at(4_000))
        _ = gate.crashed(at: at(8_000))
        XCTAssertTrue(gate.status(at: at(12_000)).engaged, "a crash 4 s ago keeps it engaged")
        XCTAssertFalse(gate.status(at: at(13_000)).engaged, "5 s without a crash release it")
        XCTAssertEqual(gate.admit(at: at(13_000)), .now)
        XCTAssertEqual(gate.admit(at: at(13_000)), .now)
        // Engaged again by three new crashes: counted as a second engagement.
        for millisecond in 14_000..<14_003 { _ = gate.crashed(at: at(millisecond)) }
        XCTAssertEqual(gate.status(at: at(14_010)).engagements, 2)
    }

    func testTheCommandLineForm_parsesOrNamesNothing() {
        let parsed = StartLimit(argument: "20/10:50")
        XCTAssertEqual(parsed, StartLimit(crashes: 20, within: .seconds(10), interval: .milliseconds(50)))
        XCTAssertEqual(StartLimit(argument: "10/2.5"), StartLimit(crashes: 10, within: .milliseconds(2_500)))
        for limit in [StartLimit(), StartLimit(crashes: 3, within: .milliseconds(1_500), interval: .milliseconds(20))] {
            XCTAssertEqual(StartLimit(argument: limit.argument), limit, limit.argument)
        }
        XCTAssertEqual(StartLimit().argument, "10/5:200")
        for bad in ["", "10", "10/", "/5", "0/5", "10/0", "10/5:", "10/5:0", "10/5:x", "a/5", "10/5:100:1", "-1/5"] {
            XCTAssertNil(StartLimit(argument: bad), "'\(bad)' is not a start limit")
        }
    }
}
