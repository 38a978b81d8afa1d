import PluginWire
import XCTest

final class ProtocolVersionTests: XCTestCase {
    func testCheck_sameVersion_passes() throws {
        try ProtocolVersion.check(remote: MessageCodec.protocolVersion)
    }

    func testCheck_otherVersion_throwsVersionMismatchWithBothVersions() {
        XCTAssertThrowsError(try ProtocolVersion.check(remote: 1)) {
            XCTAssertEqual($0 as? WireError, .versionMismatch(local: 2, remote: 1))
        }
    }

    func testVersionMismatch_description_tellsWhatToDo() {
        XCTAssertEqual(WireError.versionMismatch(local: 2, remote: 1).description,
                       "protocol version mismatch: this side speaks version 2, the peer speaks version 1; "
                           + "rebuild the worker against the same PluginWire version as the supervisor")
    }

    func testHello_defaultVersion_isCurrent() {
        XCTAssertEqual(Hello(pid: 1, plugins: [], build: "b").protocolVersion, ProtocolVersion.current)
        XCTAssertEqual(ProtocolVersion.current, 2)
    }
}
