import XCTest
@testable import PluginKit

final class PluginKitModuleLinkTests: XCTestCase {
    func testModuleImports() { XCTAssertTrue(true) }
}
