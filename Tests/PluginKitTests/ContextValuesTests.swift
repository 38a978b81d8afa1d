import PluginKit
import XCTest

enum CurrentUser: ContextKey { typealias Value = String }
enum OpenDocument: ContextKey { typealias Value = Int }

struct UserPlugin: SessionPlugin {
    let id: PluginID = "user"
    let seen: Journal
    func attach(_ context: SessionPluginContext) async throws {
        seen.add(try context.values.require(CurrentUser.self))
    }
}

final class ContextValuesTests: XCTestCase {
    func testFactoryValues_reachTheSessionsPlugins() async throws {
        let seen = Journal()
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{ UserPlugin(seen: seen) }]))
        _ = try await runtime.createSession(id: "s") { id in
            var values = ContextValues()
            values[CurrentUser.self] = "ada@\(id)"
            return values
        }
        XCTAssertEqual(seen.all, ["ada@s"])
    }

    // plugin_kit: runtime_routing_test "createSession without contextFactory throws when S is custom type".
    func testCreateSession_whenAPluginRequiresAValueNoFactoryGave_throwsAndIsNotListed() async throws {
        let runtime = try await PluginRuntime(sessionPlugins: SessionPluginCatalog([{ UserPlugin(seen: Journal()) }]))
        do {
            _ = try await runtime.createSession(id: "s")
            XCTFail("the session must not start")
        } catch let error as LifecycleError {
            XCTAssertEqual(error.phase, .attach)
            XCTAssertTrue(error.failures["user"]?.contains("CurrentUser needs a context factory") ?? false, "\(error)")
        }
        XCTAssertTrue(runtime.sessions.isEmpty)
        XCTAssertThrowsError(try ContextValues().require(CurrentUser.self)) { error in
            XCTAssertEqual(error as? RuntimeError, .missingContextFactory("CurrentUser"))
            XCTAssertTrue("\(error)".contains("needs a context factory"))
        }
    }

    func testGlobalContextValues_areOnTheGlobalContext() async throws {
        var values = ContextValues()
        values[OpenDocument.self] = 7
        let runtime = try await PluginRuntime(globalContextValues: values)
        XCTAssertEqual(runtime.context.values[OpenDocument.self], 7)
        XCTAssertNil(runtime.context.values[CurrentUser.self])
    }
}
