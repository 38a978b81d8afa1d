#if canImport(Glibc)
import Glibc
#endif
import DemoPlugins
import FaultPlugins
import Foundation
import Logging
import PluginKit
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

/// A sandbox for tests: real confined workers, exec'd from the built `sandboxctl` (the reference
/// host, whose catalog holds the demo and fault plugins), with test-friendly limits.
enum TestSandbox {
    static let catalog = SessionPluginCatalog(DemoCatalog.sessionPlugins + FaultCatalog.sessionPlugins)

    static func configuration(
        spares: Int = 0,
        _ adjust: (inout SandboxConfiguration) -> Void = { _ in }
    ) throws -> SandboxConfiguration {
        var configuration = SandboxConfiguration()
        configuration.workerExecutable = try BuiltProduct.path("sandboxctl")
        configuration.spawnMode = .exec
        configuration.sparesPerProfile = spares
        adjust(&configuration)
        return configuration
    }

    /// A runtime with the demo global plugins (plus `extraGlobal`) over sandboxed sessions, its
    /// host's service running beside `body`; everything is disposed after.
    static func withRuntime<Result: Sendable>(
        extraGlobal: [any GlobalPlugin] = [],
        settings: RuntimeSettings = RuntimeSettings(),
        configuration: SandboxConfiguration? = nil,
        _ body: (PluginRuntime, SandboxedSessionHost) async throws -> Result
    ) async throws -> Result {
        let sandbox = Sandbox(sessionPlugins: catalog, configuration: try configuration ?? Self.configuration())
        return try await sandbox.withRuntime(globalPlugins: [ThemePlugin(), AuditPlugin()] + extraGlobal, settings: settings, body)
    }
}

/// Collects lifecycle changes.
final class LifecycleLog: Sendable {
    let changes = Mutex<[SessionLifecycle]>([])

    func record(_ change: SessionLifecycle) { changes.withLock { $0.append(change) } }

    func waitFor(_ predicate: (SessionLifecycle) -> Bool, timeout: Duration = .seconds(10)) async -> SessionLifecycle? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let match = changes.withLock({ $0.first(where: predicate) }) { return match }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }
}

extension SupervisedSession {
    /// The session's end, or a test failure (and an error) when it has not ended within `timeout`.
    func endedWithin(_ timeout: Duration, _ what: String, file: StaticString = #filePath, line: UInt = #line) async throws -> ExitCause {
        let first = FirstOnly()
        let cause: ExitCause? = await withCheckedContinuation { continuation in
            Task {
                let cause = await self.ended()
                if first.claim() { continuation.resume(returning: cause) }
            }
            Task {
                try? await Task.sleep(for: timeout)
                if first.claim() { continuation.resume(returning: nil) }
            }
        }
        guard let cause else {
            XCTFail("\(what): session \(id) did not end within \(timeout)", file: file, line: line)
            _ = await kill()
            throw SessionDidNotEnd()
        }
        return cause
    }
}

struct SessionDidNotEnd: Error {}

/// True for the first caller only.
final class FirstOnly: Sendable {
    private let claimed = Mutex(false)
    func claim() -> Bool { claimed.withLock { claimed in defer { claimed = true }; return !claimed } }
}

/// The bystander's questions and answers.
final class Traffic: Sendable {
    private struct State {
        var stopped = false
        var answered = 0
        var problems: [String] = []
    }

    private let state = Mutex(State())

    var stopped: Bool { state.withLock { $0.stopped } }
    var outcome: (answered: Int, problems: [String]) { state.withLock { ($0.answered, $0.problems) } }

    func stop() { state.withLock { $0.stopped = true } }

    /// Asks `bystander` to count words, question after question, until ``stop()``, recording
    /// every wrong answer and failure.
    func keepAsking(_ bystander: PluginSession) -> Task<Void, Never> {
        Task {
            var sequence = 0
            while !stopped {
                sequence += 1
                let words = Array(repeating: "word", count: sequence % 7 + 1).joined(separator: " ")
                do {
                    let count = try await bystander.request(WordCountRequest(text: words))
                    record(count == sequence % 7 + 1 ? nil : "question \(sequence) answered \(count)")
                } catch {
                    record("question \(sequence) failed: \(error)")
                }
            }
        }
    }

    /// Fails the test unless more than `minimum` questions were answered, every one rightly.
    func assertEverythingAnswered(moreThan minimum: Int, file: StaticString = #filePath, line: UInt = #line) {
        let (answered, problems) = outcome
        XCTAssertGreaterThan(answered, minimum, "the bystander was hardly asked", file: file, line: line)
        XCTAssertEqual(Array(problems.prefix(5)), [], "the bystander lost answers (\(problems.count) in all)", file: file, line: line)
    }

    func record(_ problem: String?) {
        state.withLock { state in
            state.answered += 1
            if let problem { state.problems.append(problem) }
        }
    }
}
