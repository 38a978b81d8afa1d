import Foundation
import PluginSandbox
import XCTest

/// Every example of PluginSandbox's *Writing a profile* article loads: each section's example,
/// put in place of that section in the shipped default profile, is a valid profile, and the
/// error the article quotes is the one a profile with that mistake gets.
final class ProfileArticleTests: XCTestCase {
    static let article = "Sources/PluginSandbox/PluginSandbox.docc/WritingAProfile.md"

    private func defaultDocument() throws -> [String: Any] {
        let text = try XCTUnwrap(ProfileCatalog.builtinDocuments["default"])
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    private func load(_ document: [String: Any]) throws -> SandboxProfile {
        try SandboxProfile.decode(try JSONSerialization.data(withJSONObject: document))
    }

    func testEverySectionExample_inPlaceInTheDefaultProfile_loads() throws {
        let examples = Documents.codeBlocks(in: try Documents.text(Self.article)).filter { $0.language == "json" }
        let sections = ["name", "seccomp", "rlimits", "landlock", "namespaces", "identity", "supervision", "resources", "allowDegraded"]
        var shown: Set<String> = []
        for example in examples {
            // An example is one or more of a profile's members, as written inside the profile.
            let members = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data("{\(example.text)}".utf8)) as? [String: Any],
                                        "not a profile's members:\n\(example.text)")
            var document = try defaultDocument()
            document.merge(members) { _, new in new }
            XCTAssertNoThrow(try load(document), "the example does not load:\n\(example.text)")
            shown.formUnion(members.keys)
        }
        XCTAssertEqual(shown.intersection(sections), Set(sections), "every section has an example")
    }

    func testQuotedError_isWhatAProfileAskingForAPidNamespaceGets() throws {
        var document = try defaultDocument()
        document["namespaces"] = ["net", "pid"]
        XCTAssertThrowsError(try load(document)) { error in
            let article = (try? Documents.text(Self.article)) ?? ""
            XCTAssertTrue(article.contains("\n\(error)\n"), "the article must quote: \(error)")
        }
    }
}
