import XCTest
@testable import PluginSandbox

/// The CPU budget: exceeded only when the readings prove more than the budget was used within one
/// window; usage outside the window no longer counts.
final class CPUBudgetMeterTests: XCTestCase {
    /// (seconds since the group was made, cumulative CPU seconds, CPU seconds in the window when exceeded)
    private typealias Step = (at: Double, usage: Double, exceeded: Double?)

    private func run(_ budget: CPUBudget, _ steps: [Step], file: StaticString = #filePath, line: UInt = #line) {
        var meter = CPUBudgetMeter(budget: budget)
        let origin = ContinuousClock.now
        for step in steps {
            let result = meter.record(usage: .milliseconds(Int64(step.usage * 1000)), at: origin + .milliseconds(Int64(step.at * 1000)))
            XCTAssertEqual(result, step.exceeded.map { .milliseconds(Int64($0 * 1000)) }, "at \(step.at) s", file: file, line: line)
        }
    }

    func testSpinningSession_isOverTheBudgetOnceItUsedMoreThanItInOneWindow() {
        run(CPUBudget(seconds: 10, windowSeconds: 60), [
            (0, 0, nil), (5, 5, nil), (10, 10, nil), (11, 11, 11),
        ])
    }

    func testUsageOlderThanTheWindow_stopsCounting() {
        run(CPUBudget(seconds: 10, windowSeconds: 60), [
            (0, 0, nil), (1, 9, nil), (61, 9, nil), (62, 18, nil), (65, 19, nil), (66, 20, 11),
        ])
    }

    func testBurstWithinOneWindow_afterALongIdleTime_isCaught() {
        run(CPUBudget(seconds: 2, windowSeconds: 5), [
            (0, 0, nil), (100, 1, nil), (101, 2, nil), (102, 3, nil), (103, 4.5, 3.5),
        ])
    }

    func testFirstReading_neverExceeds() {
        run(CPUBudget(seconds: 1, windowSeconds: 1), [(10, 50, nil), (10.5, 50.2, nil)])
    }
}
