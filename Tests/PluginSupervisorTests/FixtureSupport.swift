#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginSandbox
import PluginWire
import Synchronization
import XCTest
@testable import PluginSupervisor

/// Locates executables SwiftPM built next to the test bundle.
enum BuiltProduct {
    private final class Marker {}

    static func path(_ name: String) throws -> String {
        let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let bundle = Bundle(for: Marker.self).bundleURL
        let candidates = [runner.deletingLastPathComponent(), bundle, bundle.deletingLastPathComponent()]
            .map { $0.appendingPathComponent(name).path }
        guard let path = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw XCTSkip("\(name) is not built next to the tests (\(candidates)); run swift build --build-tests")
        }
        return path
    }
}

/// A global scope for tests: `Bump` adds one to `n`, `Halt` stops the cascade, `Fail` throws.
final class TestRouter: GlobalRouter {
    struct Failure: Error, CustomStringConvertible { var description: String }
    let seen = Mutex<[String]>([])

    func emit(event: String, payload: JSONValue, identifier: String?, from sessionID: String) async throws -> EmitOutcome {
        seen.withLock { $0.append("\(sessionID):\(event)") }
        switch event {
        case "Bump":
            guard case .object(var fields) = payload, case .int(let n)? = fields["n"] else { return (payload, false, 1, false) }
            fields["n"] = .int(n + 1)
            return (.object(fields), false, 1, true)
        case "Halt":
            return (payload, true, 1, false)
        case "Fail":
            throw Failure(description: "global handler refused \(payload)")
        default:
            return (payload, false, 0, false)
        }
    }

    func request(name: String, payload: JSONValue, identifier: String?, optional: Bool, from sessionID: String) async throws -> JSONValue? {
        .object(["answeredFor": .string(sessionID)])
    }
}

/// Collects lifecycle changes.
final class LifecycleLog: Sendable {
    let changes = Mutex<[SessionLifecycle]>([])

    func record(_ change: SessionLifecycle) { changes.withLock { $0.append(change) } }

    func waitFor(_ predicate: (SessionLifecycle) -> Bool, timeout: Duration = .seconds(5)) async -> SessionLifecycle? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let match = changes.withLock({ $0.first(where: predicate) }) { return match }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }
}

extension XCTestCase {
    /// A supervisor spawning the fixture worker in exec mode with tight, test-friendly limits.
    func makeFixtureSupervisor(
        limits: WorkerLimits = WorkerLimits(heartbeatInterval: .milliseconds(100), heartbeatTimeout: .seconds(2), requestTimeout: .seconds(5)),
        environment: [String: String] = [:],
        log: LifecycleLog = LifecycleLog()
    ) throws -> Supervisor {
        let spawner = try WorkerSpawner(mode: .exec, executable: try BuiltProduct.path("supervisor-fixture"))
        return try Supervisor(configuration: .init(
            spawner: spawner,
            router: TestRouter(),
            limits: { _ in limits },
            healthInterval: .milliseconds(20),
            lifecycle: { log.record($0) },
            workerEnvironment: environment))
    }

    var fixtureProfile: SandboxProfile { SandboxProfile(name: "fixture") }
}
