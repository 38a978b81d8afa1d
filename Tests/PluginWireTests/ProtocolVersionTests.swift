import PluginWire
import XCTest

final class ProtocolVersionTests: XCTestCase {
    func testCheck_sameVersion_passes() throws {
        try ProtocolVersion.check(remote: MessageCodec.protocolVersion)
    }

    func testCheck_otherVersion_throwsVersionMismatchWithBothVersions() {
        XCTAssertThrowsError(try ProtocolVersion.check(remote: 2)) {
            XCTAssertEqual($0 as? WireError, .versionMismatch(local: 1, remote: 2))
        }
    }

    func testVersionMismatch_description_tellsWhatToDo() {
        XCTAssertEqual(WireError.versionMismatch(local: 1, remote: 2).description,
                       "protocol version mismatch: this side speaks version 1, the peer speaks version 2; "
                           + "rebuild the worker against the same PluginWire version as the supervisor")
    }

    func testHello_defaultVersion_isCurrent() {
        XCTAssertEqual(Hello(sessionID: "s", pid: 1, plugins: [], sandboxLayers: []).protocolVersion, ProtocolVersion.current)
    }
}
