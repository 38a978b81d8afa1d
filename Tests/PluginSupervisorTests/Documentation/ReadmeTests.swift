import Foundation
import XCTest

/// README.md's "A plugin in a screen" is a program that runs: its code is the `readme-example`
/// fixture, byte for byte, and running it prints what the README says it prints.
final class ReadmeTests: XCTestCase {
    static let section = "## A plugin in a screen"

    /// The README's host code and the output it quotes.
    static func example() throws -> (code: String, output: String) {
        let blocks = Documents.codeBlocks(in: try Documents.text("README.md"), section: section)
        let code = try XCTUnwrap(blocks.first { $0.language == "swift" }, "no swift block under \(section)")
        let output = try XCTUnwrap(blocks.first { $0.language == "text" }, "no text block (the output) under \(section)")
        return (code.text, output.text)
    }

    func testReadmeExample_isTheFixtureByteForByte_inUnderFortyLines() throws {
        let code = try Self.example().code
        let fixture = try Documents.text("Tests/Fixtures/ReadmeExample/main.swift")
        XCTAssertEqual(code, fixture, "README.md's example and Tests/Fixtures/ReadmeExample/main.swift differ")
        XCTAssertLessThan(code.split(separator: "\n", omittingEmptySubsequences: false).count - 1, 40)
    }

    func testReadmeExample_runsTheSessionPluginInAWorkerAndPrintsWhatTheReadmeQuotes() throws {
        let executable = try BuiltProduct.path("readme-example")
        let run = try ProgramRun.run(executable, limit: .seconds(60))
        XCTAssertEqual(run.reason, .exit, run.output)
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(Documents.quotable(run.output), Documents.masked(try Self.example().output), run.output)

        // The plugin's line came from another process than the host: its session's worker.
        let line = try XCTUnwrap(run.output.split(separator: "\n").first { $0.hasSuffix("hello from doc-1 (logged)") }, run.output)
        let worker = try XCTUnwrap(line.firstMatch(of: #/pid=(\d+)/#).flatMap { Int32($0.1) }, "\(line)")
        XCTAssertNotEqual(worker, run.pid)
    }
}
