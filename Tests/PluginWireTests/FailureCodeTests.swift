import PluginWire
import XCTest

final class FailureCodeTests: XCTestCase {
    func testKnownCodes_roundTripThroughTheirRawValue() {
        XCTAssertEqual(FailureCode.allKnown.count, 14)
        for code in FailureCode.allKnown {
            XCTAssertEqual(FailureCode(rawValue: code.rawValue), code)
            XCTAssertTrue(code.isKnown)
        }
        XCTAssertEqual(FailureCode.internal.rawValue, "internal")
        XCTAssertEqual(FailureCode.tooManyInFlight.rawValue, "tooManyInFlight")
    }

    func testDecode_unknownCode_preservesRawString() throws {
        let message = try MessageCodec.decode(body: Array(#"{"kind":"error","code":"quotaExceeded","message":"m"}"#.utf8))
        guard case .error(let failure) = message else { return XCTFail("decoded \(message)") }
        XCTAssertEqual(failure.code.rawValue, "quotaExceeded")
        XCTAssertFalse(failure.code.isKnown)
        XCTAssertNotEqual(failure.code, .internal)
    }

    func testWireFailure_description_listsSortedDetails() {
        let failure = WireFailure(code: .timeout, message: "no answer", details: ["plugin": "p", "event": "E"])
        XCTAssertEqual(failure.description, "timeout: no answer [event=E, plugin=p]")
    }
}
