import XCTest
@testable import PluginSandbox

final class PluginSandboxModuleLinkTests: XCTestCase {
    func testModuleImports() { XCTAssertTrue(true) }
}
