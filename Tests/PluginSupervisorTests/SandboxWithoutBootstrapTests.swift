import Foundation
import PluginKit
import PluginSandbox
import XCTest
@testable import PluginSupervisor

/// A host that never called `Sandbox.bootstrap` (this test process is one: its workers would be
/// copies of itself) fails at once, naming the call, before any process is started. What a marked
/// copy of such a host can do (nothing: no exec, no spawn, killed by the startup guard) is
/// `BootstrapGuardTests`' subject.
final class SandboxWithoutBootstrapTests: XCTestCase {
    static let message = "spawn step bootstrapMissing failed: Sandbox.bootstrap(sessionPlugins:) must be the first statement of main: this program never called it, so it cannot serve as its own sandboxed worker"

    override func setUp() {
        XCTAssertFalse(WorkerBootstrap.isStarted, "this test process must never have bootstrapped")
    }

    func testWithRuntime_withoutBootstrap_throwsNamingTheCallAndStartsNoProcess() async throws {
        let before = ProgramRun.children()
        let sandbox = Sandbox(sessionPlugins: TestSandbox.catalog, configuration: SandboxConfiguration())
        var bodyRan = false
        do {
            try await sandbox.withRuntime(globalPlugins: []) { _ in bodyRan = true }
            XCTFail("a runtime was built without the bootstrap")
        } catch let error as SpawnError {
            XCTAssertEqual(error.step, .bootstrapMissing)
            XCTAssertEqual("\(error)", Self.message)
        }
        XCTAssertFalse(bodyRan)
        XCTAssertEqual(ProgramRun.children().subtracting(before), [], "no process was started")
    }

    func testSessionHost_withoutBootstrap_throwsNamingTheCall() {
        XCTAssertThrowsError(try SandboxedSessionHost(configuration: SandboxConfiguration())) { error in
            XCTAssertEqual("\(error)", Self.message)
        }
    }

    func testGettingStarted_quotesTheErrorAHostWithoutBootstrapGets() throws {
        let article = try Documents.text(NewPackageTests.article)
        XCTAssertTrue(article.contains("Fatal error: Error raised at top level: \(Self.message)"), "GettingStarted.md must quote: \(Self.message)")
    }
}
