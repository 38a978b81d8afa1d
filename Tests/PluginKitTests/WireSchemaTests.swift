import PluginKit
import XCTest

/// A Decodable type's wire shape, learned by running its `init(from:)` against a recording decoder.
final class WireSchemaTests: XCTestCase {
    struct Inner: Codable { var values: [Int]; var weights: [String: Double]? }
    enum Mood: String, Codable, CaseIterable { case calm, angry }
    struct Event: WireEvent { var kind: String; var argument: Int?; var inner: Inner; var mood: Mood; var flag: Bool }
    struct Ask: WireRequest {
        typealias Response = [String]
        var text: String?
    }
    final class Tree: Codable { var children: [Tree] = []; var name = "" }
    struct Strict: Codable {
        var first: String
        var second: Int
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            first = try container.decode(String.self, forKey: .first)
            guard !first.isEmpty else { throw DecodingError.dataCorruptedError(forKey: .first, in: container, debugDescription: "empty") }
            second = try container.decode(Int.self, forKey: .second)
        }
    }

    func testSynthesizedType_listsEveryFieldWithTypeAndOptionality() {
        XCTAssertEqual(WireSchema.fields(of: Event.self).map(\.description), [
            "kind: string", "argument: int?", "inner: {values: [int], weights: {string: number}?}", #"mood: "calm"|"angry""#, "flag: bool",
        ])
    }

    func testRequest_describesItsFieldsAndResponse() {
        let entry = WireInterface.Entry.request(Ask.self, answeredBy: ["p"], "asks")
        XCTAssertEqual(entry.name, "Ask")
        XCTAssertEqual(entry.fields.map(\.description), ["text: string?"])
        XCTAssertEqual(entry.response?.description, "[string]")
    }

    func testRecursiveType_isFollowedToABoundedDepth() {
        let description = WireSchema.describe(Tree.self).description
        XCTAssertTrue(description.hasPrefix("{children: [{children: ["), description)
        XCTAssertTrue(description.hasSuffix("name: string}"), description)
    }

    func testValidatingDecoder_listsWhatItAskedBeforeRefusing() {
        XCTAssertEqual(WireSchema.fields(of: Strict.self).map(\.description), ["first: string"])
    }

    func testInterfaces_mergeThePluginsOfTheSameMessage() {
        let left = WireInterface([.event(Event.self, handledBy: ["a"])])
        let right = WireInterface([.event(Event.self, handledBy: ["b"]), .request(Ask.self, answeredBy: ["b"])])
        let merged = left + right
        XCTAssertEqual(merged.entries.map(\.name), ["Event", "Ask"])
        XCTAssertEqual(merged.entries[0].plugins, ["a", "b"])
    }
}
