import Foundation
import PluginWire
import XCTest

final class JSONValueTests: XCTestCase {
    func testInitJSONData_integralNumbers_areLosslessInt64() throws {
        XCTAssertEqual(try JSONValue(jsonData: Data("9223372036854775807".utf8)), .int(Int64.max))
        XCTAssertEqual(try JSONValue(jsonData: Data("-9223372036854775808".utf8)), .int(Int64.min))
        XCTAssertEqual(try JSONValue(jsonData: Data("1e3".utf8)), .int(1000))
    }

    func testInitJSONData_fractionsAndHugeNumbers_areDouble() throws {
        XCTAssertEqual(try JSONValue(jsonData: Data("0.1".utf8)), .double(0.1))
        XCTAssertEqual(try JSONValue(jsonData: Data("9223372036854775808".utf8)), .double(9_223_372_036_854_775_808))
    }

    func testInitJSONData_mixedDocument_keepsEveryType() throws {
        let text = #"{"a":[null,true,false,-2,2.5,"s\u00e9\n\ud83d\ude00"],"b":{}}"#
        let value = try JSONValue(jsonData: Data(text.utf8))
        XCTAssertEqual(value, .object([
            "a": .array([.null, .bool(true), .bool(false), .int(-2), .double(2.5), .string("sé\n\u{1F600}")]),
            "b": .object([:]),
        ]))
    }

    func testJSONData_roundTrip_returnsEqualValue() throws {
        let value = JSONValue.object(["list": .array([.int(1), .double(-0.5), .string("\"q\"")]), "none": .null])
        XCTAssertEqual(try JSONValue(jsonData: value.jsonData()), value)
    }

    func testJSONData_nonFiniteDouble_throwsUnencodable() {
        XCTAssertThrowsError(try JSONValue.double(.infinity).jsonData()) { error in
            XCTAssertEqual(error as? WireError, WireError(code: .unencodable, subject: "JSONValue", reason: "inf has no JSON form"))
        }
    }

    func testInitJSONData_malformed_throwsMalformedJSONWithOffset() {
        XCTAssertThrowsError(try JSONValue(jsonData: Data("[1,]".utf8))) {
            XCTAssertEqual($0 as? WireError, WireError(code: .malformedJSON, field: "[1]", offset: 3, reason: "expected a value"))
        }
    }

    private struct Point: Codable, Equatable {
        var x: UInt64
        var label: String?
    }

    func testEncodingThenDecode_codableValue_roundTrips() throws {
        let point = Point(x: 42, label: "far")
        XCTAssertEqual(try JSONValue(encoding: point).decode(as: Point.self), point)
        XCTAssertEqual(try JSONValue.object(["x": .int(3)]).decode(as: Point.self), Point(x: 3, label: nil))
    }

    func testDecodeAs_wrongShape_throwsWrongTypeNamingField() {
        XCTAssertThrowsError(try JSONValue.object(["x": .string("3")]).decode(as: Point.self)) {
            XCTAssertEqual($0 as? WireError, WireError(code: .wrongType, subject: "Point", field: "x", offset: 5, reason: "must be an integer, found a string"))
            XCTAssertEqual(($0 as? WireError)?.description, "Point.x: must be an integer, found a string (at byte offset 5)")
        }
    }

    func testEncoding_integerAboveInt64_becomesDouble() throws {
        XCTAssertEqual(try JSONValue(encoding: Point(x: UInt64.max)), .object(["x": .double(Double(UInt64.max))]))
    }

    func testFoundationDecoder_decodesJSONValueToo() throws {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a":[1,2.5,"x",null,true]}"#.utf8))
        XCTAssertEqual(value, .object(["a": .array([.int(1), .double(2.5), .string("x"), .null, .bool(true)])]))
    }
}
