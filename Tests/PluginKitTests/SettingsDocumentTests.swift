import Foundation
import PluginKit
import XCTest

/// Settings documents are decoded strictly: a typo is an error naming the key and its value.
final class SettingsDocumentTests: XCTestCase {
    private func decodeError(_ json: String) -> SettingsDocumentError? {
        do {
            _ = try JSONDecoder().decode(RuntimeSettings.self, from: Data(json.utf8))
            return nil
        } catch {
            return error as? SettingsDocumentError
        }
    }

    func testUnknownTopLevelKey_isAnErrorNamingTheKeyAndValue() throws {
        let error = try XCTUnwrap(decodeError(#"{"plugin": {"editor": {"enabled": true}}}"#))
        XCTAssertEqual(error.key, "plugin")
        XCTAssertEqual(error.value, #"{"editor":{"enabled":true}}"#)
        XCTAssertEqual(error.known, ["plugins", "services"])
    }

    func testMisspelledPluginKey_isAnErrorWithItsPath() throws {
        let error = try XCTUnwrap(decodeError(#"{"plugins": {"editor": {"enabld": false}}}"#))
        XCTAssertEqual(error.key, "plugins.editor.enabld")
        XCTAssertEqual(error.value, "false")
        XCTAssertTrue(error.description.contains("unknown key 'plugins.editor.enabld' (value false)"), error.description)
    }

    func testMisspelledServiceKey_isAnError() throws {
        let error = try XCTUnwrap(decodeError(#"{"services": {"a:b": {"priorty": 3}}}"#))
        XCTAssertEqual(error.key, "services.a:b.priorty")
        XCTAssertEqual(error.value, "3")
    }

    func testWellFormedDocument_decodes() throws {
        let json = #"{"plugins": {"editor": {"enabled": true, "config": {"title": "a"}}}, "services": {"*:s": {"priority": 2}}}"#
        let settings = try JSONDecoder().decode(RuntimeSettings.self, from: Data(json.utf8))
        XCTAssertEqual(settings.plugins["editor"]?.config["title"], .string("a"))
        XCTAssertEqual(settings.services["*:s"]?.priority, 2)
    }
}
