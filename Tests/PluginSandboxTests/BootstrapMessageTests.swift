import Foundation
import SystemPackage
import XCTest

@testable import PluginSandbox

/// The supervisor's reading of a worker's bootstrap channel believes nothing it cannot check.
final class BootstrapMessageTests: XCTestCase {
    private var ends: (supervisor: FileDescriptor, worker: FileDescriptor)!

    override func setUpWithError() throws {
        ends = try SpawnInProcessTests.sequencedPair()
    }

    override func tearDown() {
        try? ends.supervisor.close()
        try? ends.worker.close()
    }

    private func workerSends(_ text: String, passing descriptors: [FileDescriptor] = []) throws {
        try ends.worker.sendMessage(Array(text.utf8), passing: descriptors)
    }

    private func receiveError() -> BootstrapError? {
        do {
            _ = try BootstrapMessage.receive(from: ends.supervisor)
            return nil
        } catch {
            return error
        }
    }

    func testNothingSentYet_isNil() throws {
        XCTAssertNil(try BootstrapMessage.receive(from: ends.supervisor))
    }

    func testStartFailure_isParsed() throws {
        let failure = WorkerStartFailure(stage: "confinement", detail: "confinement layer landlock failed")
        try ends.worker.sendMessage(BootstrapMessage.failed(failure).encoded())
        guard case .failed(let received)? = try BootstrapMessage.receive(from: ends.supervisor) else { return XCTFail("not a failure") }
        XCTAssertEqual(received, failure)
    }

    func testConfinedWithoutFilter_carriesNoListener() throws {
        let report = ConfinementReport(layers: [EngagedLayer(name: "no_new_privs", detail: "PR_SET_NO_NEW_PRIVS")], spawnMicroseconds: 120)
        try ends.worker.sendMessage(BootstrapMessage.confined(report, listener: nil).encoded())
        guard case .confined(let received, let listener)? = try BootstrapMessage.receive(from: ends.supervisor) else {
            return XCTFail("not confined")
        }
        XCTAssertEqual(received, report)
        XCTAssertNil(listener)
    }

    func testReportTemplateAWorkerCompletes_readsBackExactly() throws {
        let layers = [
            EngagedLayer(name: "root", detail: #"read-only: /a "quoted" path\with\backslashes"# + "\t\n\u{1} ünïcödé"),
            EngagedLayer(name: "rlimits", detail: "nofile=256"),
        ]
        var (bytes, offset) = BootstrapMessage.confinedTemplate(layers, timingWidth: 12)
        let digits = Array("         321".utf8)  // as the start sequence writes them: right-aligned
        bytes.replaceSubrange(offset..<(offset + 12), with: digits)
        try ends.worker.sendMessage(bytes)
        guard case .confined(let report, nil)? = try BootstrapMessage.receive(from: ends.supervisor) else { return XCTFail("not confined") }
        XCTAssertEqual(report, ConfinementReport(layers: layers, spawnMicroseconds: 321))
    }

    func testChannelClosedWithoutMessage_saysTheWorkerEndedFirst() throws {
        try ends.worker.close()
        XCTAssertEqual(receiveError()?.reason, .closedWithoutMessage)
    }

    func testGarbage_isMalformed() throws {
        try workerSends("{\"confined\": 7}")
        XCTAssertEqual(receiveError()?.reason, .malformed)
    }

    func testReportClaimingSeccompWithoutListener_isRefused() throws {
        try workerSends(#"{"confined":{"layers":[{"name":"seccomp","detail":"default trap"}]}}"#)
        XCTAssertEqual(receiveError()?.reason, .missingListener)
    }

    func testDescriptorThatIsNotASeccompListener_isRefusedAndClosed() throws {
        let pipe = try FileDescriptor.pipe()
        defer {
            try? pipe.readEnd.close()
            try? pipe.writeEnd.close()
        }
        try workerSends(#"{"confined":{"layers":[{"name":"seccomp","detail":"default trap"}]}}"#, passing: [pipe.readEnd])
        let error = receiveError()
        XCTAssertEqual(error?.reason, .notASeccompListener)
        XCTAssertTrue(error?.detail.contains("pipe:") ?? false, "\(String(describing: error))")
    }

    func testDescriptorWithAStartFailure_isRefused() throws {
        try workerSends(#"{"failed":{"stage":"plan","detail":"x"}}"#, passing: [FileDescriptor.standardInput])
        XCTAssertEqual(receiveError()?.reason, .unexpectedDescriptor)
    }
}
