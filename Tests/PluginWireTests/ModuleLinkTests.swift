import XCTest
@testable import PluginWire

final class PluginWireModuleLinkTests: XCTestCase {
    func testModuleImports() { XCTAssertTrue(true) }
}
