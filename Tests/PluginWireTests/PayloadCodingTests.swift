import Foundation
import PluginWire
import XCTest

/// `RawJSON(encoding:)` and `RawJSON.decode(_:)` agree with Foundation's `JSONEncoder` and
/// `JSONDecoder` (default strategies) in both directions.
final class PayloadCodingTests: XCTestCase {
    struct Inner: Codable, Equatable {
        var name: String
        var tags: [String]
        var score: Double?
    }

    struct Sample: Codable, Equatable {
        enum Mood: String, Codable { case calm, loud }
        enum Level: Int, Codable { case low = 1, high = 9 }

        var id: UInt64
        var count: Int
        var small: Int8
        var wide: UInt32
        var ratio: Double
        var single: Float
        var ok: Bool
        var title: String
        var mood: Mood
        var level: Level
        var inner: Inner
        var list: [Inner]
        var map: [String: Int]
        var nested: [String: [Inner]]
        var maybe: String?
        var missing: Int?
        var matrix: [[Int]]
        var date: Date
        var data: Data
        var url: URL
        var decimal: Decimal
    }

    static let sample = Sample(
        id: UInt64.max, count: -42, small: -128, wide: 4_000_000_000, ratio: 0.1, single: 1.5, ok: true,
        title: "é \"q\" \\ \n \u{1F600} \u{0}", mood: .loud, level: .high,
        inner: Inner(name: "in", tags: ["a", "b"], score: 2.5),
        list: [Inner(name: "x", tags: [], score: nil), Inner(name: "y", tags: ["z"], score: -1e-7)],
        map: ["one": 1, "two": 2, "weird key.[]": 3], nested: ["k": [Inner(name: "n", tags: ["t"], score: 1e300)]],
        maybe: "present", missing: nil, matrix: [[1, 2], [], [3]],
        date: Date(timeIntervalSinceReferenceDate: 123_456.789), data: Data([0, 1, 2, 250, 255]),
        url: URL(string: "https://example.com/a?b=c#d")!, decimal: Decimal(string: "12345.6789")!)

    func testRoundTrip_ownEncoderAndDecoder_returnsEqualValue() throws {
        let raw = try RawJSON(encoding: Self.sample)
        XCTAssertEqual(try raw.decode(Sample.self), Self.sample)
    }

    func testOwnEncoder_output_isReadByFoundationDecoder() throws {
        let raw = try RawJSON(encoding: Self.sample)
        XCTAssertEqual(try JSONDecoder().decode(Sample.self, from: Data(raw.bytes)), Self.sample)
    }

    func testFoundationEncoder_output_isReadByOwnDecoder() throws {
        let data = try JSONEncoder().encode(Self.sample)
        XCTAssertEqual(try RawJSON(validating: data).decode(Sample.self), Self.sample)
    }

    func testOwnEncoder_omitsNilOptionalsAndKeepsKeyOrder() throws {
        let raw = try RawJSON(encoding: Inner(name: "n", tags: ["t"], score: nil))
        XCTAssertEqual(raw.description, #"{"name":"n","tags":["t"]}"#)
    }

    func testOwnEncoder_writesNumbersInShortestForm() throws {
        XCTAssertEqual(try RawJSON(encoding: [100.0, 0.1, -0.0, 1e20, Double.leastNonzeroMagnitude]).description, "[100,0.1,-0,1e+20,5e-324]")
        XCTAssertEqual(try RawJSON(encoding: [Int64.min]).description, "[-9223372036854775808]")
    }

    func testRawJSONInsideACodableValue_isSplicedAndReadBackVerbatim() throws {
        struct Envelope: Codable, Equatable {
            var name: String
            var body: RawJSON
        }
        let body = try RawJSON(validating: Array(#"{ "kept" : [1.50, "as is"] }"#.utf8))
        let raw = try RawJSON(encoding: Envelope(name: "e", body: body))
        XCTAssertEqual(raw.description, #"{"name":"e","body":{ "kept" : [1.50, "as is"] }}"#)
        XCTAssertEqual(try raw.decode(Envelope.self), Envelope(name: "e", body: body))
        let viaFoundation = try JSONDecoder().decode(Envelope.self, from: Data(raw.bytes))
        XCTAssertEqual(JSONValue(viaFoundation.body), JSONValue(body))
        XCTAssertEqual(try JSONValue(validating: JSONEncoder().encode(Envelope(name: "e", body: body))), JSONValue(raw))
    }

    func testJSONValueInsideACodableValue_roundTrips() throws {
        struct Holder: Codable, Equatable { var value: JSONValue }
        let holder = Holder(value: .object(["a": .array([.int(1), .double(2.5), .null, .string("s")])]))
        XCTAssertEqual(try RawJSON(encoding: holder).decode(Holder.self), holder)
    }

    // MARK: Classes and hand-written conformances

    class Base: Codable {
        var base: Int
        init(base: Int) { self.base = base }
    }

    final class Derived: Base {
        var extra: String

        init(base: Int, extra: String) {
            self.extra = extra
            super.init(base: base)
        }

        private enum CodingKeys: String, CodingKey { case extra }

        required init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            extra = try container.decode(String.self, forKey: .extra)
            try super.init(from: container.superDecoder())
        }

        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(extra, forKey: .extra)
            try super.encode(to: container.superEncoder())
        }
    }

    func testSuperEncoderAndDecoder_matchFoundation() throws {
        let raw = try RawJSON(encoding: Derived(base: 7, extra: "x"))
        XCTAssertEqual(raw.description, #"{"extra":"x","super":{"base":7}}"#)
        let decoded = try raw.decode(Derived.self)
        XCTAssertEqual(decoded.base, 7)
        XCTAssertEqual(decoded.extra, "x")
        let foundation = try JSONDecoder().decode(Derived.self, from: Data(raw.bytes))
        XCTAssertEqual(foundation.base, 7)
    }

    struct Nested: Codable, Equatable {
        var a: Int
        var b: [Int]

        private enum Keys: String, CodingKey { case outer, a, list }

        init(a: Int, b: [Int]) {
            self.a = a
            self.b = b
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            let outer = try container.nestedContainer(keyedBy: Keys.self, forKey: .outer)
            a = try outer.decode(Int.self, forKey: .a)
            var list = try outer.nestedUnkeyedContainer(forKey: .list)
            var values: [Int] = []
            while !list.isAtEnd { values.append(try list.decode(Int.self)) }
            b = values
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var outer = container.nestedContainer(keyedBy: Keys.self, forKey: .outer)
            try outer.encode(a, forKey: .a)
            var list = outer.nestedUnkeyedContainer(forKey: .list)
            for value in b { try list.encode(value) }
        }
    }

    func testNestedContainers_areClosedInOrder() throws {
        let raw = try RawJSON(encoding: [Nested(a: 1, b: [2, 3]), Nested(a: 4, b: [])])
        XCTAssertEqual(raw.description, #"[{"outer":{"a":1,"list":[2,3]}},{"outer":{"a":4,"list":[]}}]"#)
        XCTAssertEqual(try raw.decode([Nested].self), [Nested(a: 1, b: [2, 3]), Nested(a: 4, b: [])])
        XCTAssertEqual(try JSONDecoder().decode([Nested].self, from: Data(raw.bytes)), [Nested(a: 1, b: [2, 3]), Nested(a: 4, b: [])])
    }

    struct OutOfOrder: Encodable {
        private enum Keys: String, CodingKey { case first, second }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var first = container.nestedUnkeyedContainer(forKey: .first)
            try container.encode(1, forKey: .second)
            try first.encode(2)
        }
    }

    func testContainerUsedAfterItsParentMovedOn_isRefusedNotMisplaced() {
        XCTAssertThrowsError(try RawJSON(encoding: OutOfOrder())) { error in
            XCTAssertEqual((error as? WireError)?.code, .unencodable)
            XCTAssertEqual((error as? WireError)?.reason, "a container was used after its parent container had moved on")
        }
    }

    struct Lossy: Decodable {
        var values: [Int]

        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            var values: [Int] = []
            while !container.isAtEnd {
                if let value = try? container.decode(Int.self) {
                    values.append(value)
                } else {
                    _ = try container.decode(JSONValue.self)
                }
            }
            self.values = values
        }
    }

    func testUnkeyedDecoding_failedElementIsNotConsumed() throws {
        XCTAssertEqual(try RawJSON(validating: Array(#"[1,"x",2,null,3.5,4]"#.utf8)).decode(Lossy.self).values, [1, 2, 4])
    }

    // MARK: Errors

    func testDecode_missingField_namesTypeAndPath() throws {
        let raw = try RawJSON(validating: Array(#"{"list":[{"name":"a","tags":[]},{"tags":[]}]}"#.utf8))
        struct Holder: Decodable { var list: [Inner] }
        XCTAssertThrowsError(try raw.decode(Holder.self)) { error in
            XCTAssertEqual(error as? WireError, WireError(code: .missingField, subject: "Holder", field: "list[1].name", offset: 32,
                                                          reason: "required field is missing"))
        }
    }

    func testDecode_wrongTypeAndNull_nameTheField() throws {
        XCTAssertThrowsError(try RawJSON(validating: Array(#"{"name":5,"tags":[]}"#.utf8)).decode(Inner.self)) { error in
            XCTAssertEqual(error as? WireError, WireError(code: .wrongType, subject: "Inner", field: "name", offset: 8,
                                                          reason: "must be a string, found a number"))
        }
        XCTAssertThrowsError(try RawJSON(validating: Array(#"{"name":"n","tags":[null]}"#.utf8)).decode(Inner.self)) { error in
            XCTAssertEqual(error as? WireError, WireError(code: .wrongType, subject: "Inner", field: "tags[0]", offset: 20,
                                                          reason: "must be a string, not null"))
        }
    }

    func testDecode_numberOutOfRange_isOutOfRange() throws {
        XCTAssertThrowsError(try RawJSON(validating: Array("[1,300]".utf8)).decode([UInt8].self)) { error in
            XCTAssertEqual(error as? WireError, WireError(code: .outOfRange, subject: "Array<UInt8>", field: "[1]", offset: 3,
                                                          reason: "number 300 does not fit in UInt8"))
        }
        XCTAssertThrowsError(try RawJSON(validating: Array("1.5".utf8)).decode(Int.self)) { error in
            XCTAssertEqual((error as? WireError)?.code, .outOfRange)
        }
        XCTAssertEqual(try RawJSON(validating: Array("[1e3,2.0,-0]".utf8)).decode([Int].self), [1000, 2, 0])
    }

    func testDecode_badEnumRawValue_isInvalidValue() throws {
        XCTAssertThrowsError(try RawJSON(validating: Array(#""sleepy""#.utf8)).decode(Sample.Mood.self)) { error in
            XCTAssertEqual((error as? WireError)?.code, .invalidValue)
            XCTAssertEqual((error as? WireError)?.subject, "Mood")
        }
    }

    func testDecode_badBase64_isInvalidValueAtTheString() throws {
        XCTAssertThrowsError(try RawJSON(validating: Array(#"["%%%"]"#.utf8)).decode([Data].self)) { error in
            XCTAssertEqual(error as? WireError, WireError(code: .invalidValue, subject: "Array<Data>", field: "[0]", offset: 1,
                                                          reason: "Encountered Data is not valid Base64."))
        }
    }

    func testEncode_nonFiniteNumber_isUnencodableWithPath() {
        XCTAssertThrowsError(try RawJSON(encoding: Inner(name: "n", tags: [], score: .infinity))) { error in
            XCTAssertEqual(error as? WireError, WireError(code: .unencodable, subject: "Inner", field: "score",
                                                          reason: "Unable to encode Double.inf directly in JSON."))
        }
    }

    func testEncode_nonFiniteNumberInAnArray_namesTheElement() {
        XCTAssertThrowsError(try RawJSON(encoding: ["a": [1.0, .nan]])) { error in
            XCTAssertEqual(error as? WireError, WireError(code: .unencodable, subject: "Dictionary<String, Array<Double>>", field: "a[1]",
                                                          reason: "Unable to encode Double.nan directly in JSON."))
        }
    }

    func testEncode_valueThatEncodesNothing_isUnencodable() {
        struct Silent: Encodable { func encode(to encoder: any Encoder) throws {} }
        XCTAssertThrowsError(try RawJSON(encoding: Silent())) { error in
            XCTAssertEqual((error as? WireError)?.code, .unencodable)
        }
        XCTAssertEqual(try RawJSON(encoding: ["a": [Silent()]]).description, #"{"a":[{}]}"#)
    }

    func testEncode_nestingPastLimit_isUnencodable() throws {
        final class Chain: Encodable {
            let next: Chain?
            init(_ next: Chain?) { self.next = next }
        }
        var chain: Chain?
        for _ in 0..<600 { chain = Chain(chain) }
        XCTAssertThrowsError(try RawJSON(encoding: chain)) { error in
            XCTAssertEqual((error as? WireError)?.code, .unencodable)
            XCTAssertEqual((error as? WireError)?.reason, "nesting deeper than 512 levels")
        }
    }

    func testEncode_rawJSONSplicedPastTheDepthLimit_isUnencodable() throws {
        let deep = try RawJSON(validating: Array((String(repeating: "[", count: 512) + String(repeating: "]", count: 512)).utf8))
        XCTAssertNoThrow(try RawJSON(encoding: deep))
        XCTAssertThrowsError(try RawJSON(encoding: [deep])) { error in
            XCTAssertEqual((error as? WireError)?.code, .unencodable)
        }
    }
}

extension JSONValue {
    init(validating data: Data) throws { self = JSONValue(try RawJSON(validating: data)) }
}
