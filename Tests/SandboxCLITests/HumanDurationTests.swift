import XCTest
@testable import SandboxCLI

/// Durations as people write and read them, and command-name suggestions.
final class HumanDurationTests: XCTestCase {
    func testParsing_acceptsUnitsCombinationsAndPlainSeconds() {
        XCTAssertEqual(HumanDuration(argument: "90s")?.seconds, 90)
        XCTAssertEqual(HumanDuration(argument: "6m")?.seconds, 360)
        XCTAssertEqual(HumanDuration(argument: "1h30m")?.seconds, 5400)
        XCTAssertEqual(HumanDuration(argument: "250ms")?.seconds, 0.25)
        XCTAssertEqual(HumanDuration(argument: "2d")?.seconds, 172_800)
        XCTAssertEqual(HumanDuration(argument: "1.5")?.seconds, 1.5)
    }

    func testParsing_refusesWhatIsNotADuration() {
        for text in ["", "m", "5x", "-3s", "5m3", "s5"] {
            XCTAssertNil(HumanDuration(argument: text), text)
        }
    }

    func testFormatting_isShortAsKubectlAges() {
        XCTAssertEqual(HumanDuration.format(0.25), "250ms")
        XCTAssertEqual(HumanDuration.format(45), "45s")
        XCTAssertEqual(HumanDuration.format(372), "6m12s")
        XCTAssertEqual(HumanDuration.format(360), "6m")
        XCTAssertEqual(HumanDuration.format(1500), "25m")
        XCTAssertEqual(HumanDuration.format(7380), "2h3m")
        XCTAssertEqual(HumanDuration.format(273_600), "3d4h")
    }

    func testSuggestions_nameTheCloseCommands() {
        XCTAssertEqual(SandboxCLI.suggest("restrat"), ["restart"])
        XCTAssertEqual(SandboxCLI.suggest("evnets"), ["events"])
        XCTAssertEqual(SandboxCLI.suggest("xyzzy"), [])
        XCTAssertNil(SandboxCLI.unknownCommand(in: ["--socket", "ls-not-a-command", "ls"]))
        XCTAssertEqual(SandboxCLI.unknownCommand(in: ["-q", "lsit"]), "lsit")
    }
}
