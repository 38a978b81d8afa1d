#if canImport(Glibc)
import Glibc
#endif
import DemoPlugins
import Foundation
import PluginKit
import PluginLibraryFixtures
import PluginSandbox
import Synchronization
import XCTest
@testable import PluginSupervisor

/// The example plugin library (`Examples/GreeterLibrary`, built here with `swift build`) in real
/// confined sessions through the Swift API, and what the supervisor refuses before it spawns.
final class PluginLibraryTests: XCTestCase {
    private func example() throws -> PluginLibraryReference {
        PluginLibraryReference(path: try PluginLibraryFixtures.exampleLibrary())
    }

    func testExampleLibrary_runsBesideTheHostsPlugins() async throws {
        let library = try example()
        try await TestSandbox.withRuntime { runtime, host in
            let heard = Mutex<[String]>([])
            runtime.globalBus.on(Greeted.self) { envelope in heard.withLock { $0.append("\(envelope.payload.name) from \(envelope.origin)") } }
            let session = try await runtime.createSession(id: "greeted", options: SandboxSessionOptions(pluginLibraries: [library]))
            let greeted = try await session.emit(Greet(name: "Ada"))
            XCTAssertEqual(greeted.payload.greeting, "Hello, Ada! (greeting 1 from a plugin library)")
            XCTAssertEqual(greeted.handlerCount, 1)
            XCTAssertEqual(heard.withLock { $0 }, ["Ada from session greeted"], "the library's globalBus emit did not reach the host")
            let count = try await session.request(GreetingCount())
            XCTAssertEqual(count, 1)
            let words = try await session.request(WordCountRequest(text: "the host's own plugin"))
            XCTAssertEqual(words, 4)
            let attached = await session.attachedPlugins
            XCTAssertTrue(attached.isSuperset(of: ["greeter", "editor"]), "\(attached)")
            let log = try XCTUnwrap(host.log(of: "greeted")).entries.map(\.text)
            XCTAssertTrue(log.contains { $0.contains("greeter attached") }, "\(log)")
            let layers = try XCTUnwrap(host.summary(of: "greeted")).sandboxLayers
            XCTAssertTrue(layers.contains { $0.hasPrefix("plugin-library: \(library.path)") }, "\(layers)")
            try await session.dispose()
        }
    }

    func testExampleLibrary_alone_whenTheHostsPluginsAreLeftOut() async throws {
        let library = try example()
        try await TestSandbox.withRuntime { runtime, _ in
            let session = try await runtime.createSession(
                id: "library-only", options: SandboxSessionOptions(pluginLibraries: [library], includesHostPlugins: false))
            let attached = await session.attachedPlugins
            XCTAssertEqual(attached, ["greeter"])
            let greeted = try await session.emit(Greet(name: "Grace"))
            XCTAssertEqual(greeted.payload.greeting, "Hello, Grace! (greeting 1 from a plugin library)")
            do {
                _ = try await session.request(WordCountRequest(text: "nobody answers"))
                XCTFail("the host's editor plugin answered in a session without the host's plugins")
            } catch {
                XCTAssertTrue(error is RequestNotWired, "\(error)")
            }
        }
    }

    func testLibrarySession_engagesTheSameLayersAsAPlainOne_plusItsSealedCopy() async throws {
        let library = try example()
        try await TestSandbox.withRuntime { runtime, host in
            _ = try await runtime.createSession(id: "plain")
            _ = try await runtime.createSession(id: "with-library", options: SandboxSessionOptions(pluginLibraries: [library]))
            let plain = try XCTUnwrap(host.summary(of: "plain")).sandboxLayers
            let layers = try XCTUnwrap(host.summary(of: "with-library")).sandboxLayers
            let added = layers.filter { !plain.contains($0) }
            let identity = { (layer: String) in layer.hasPrefix("identity:") }
            XCTAssertEqual(plain.filter { !identity($0) }, layers.filter { !identity($0) && !$0.hasPrefix("plugin-library:") },
                           "a library session engages other layers than a plain one")
            XCTAssertEqual(added.filter { !identity($0) }.count, 1, "\(added)")
            XCTAssertTrue(added.contains { $0.hasPrefix("plugin-library: \(library.path), sha256 ") }, "\(added)")
        }
    }

    func testSessionCalls_passThroughEveryScope_hostsFirst() async throws {
        let library = try example()
        try await TestSandbox.withRuntime { runtime, _ in
            let session = try await runtime.createSession(id: "scopes", options: SandboxSessionOptions(pluginLibraries: [library]))
            let theme = try await session.emit(ThemeChanged(theme: "dark"))
            XCTAssertEqual(theme.handlerCount, 1, "only the host's editor plugin hears ThemeChanged")
            let unheard = try await session.emit(Unheard(note: "anyone?"))
            XCTAssertEqual(unheard.handlerCount, 0)
            let current = try await session.request(CurrentThemeRequest())
            XCTAssertEqual(current, "dark")
            do {
                _ = try await session.request(Unasked())
                XCTFail("a request nobody answers was answered")
            } catch {
                XCTAssertTrue(error is RequestNotWired, "\(error)")
            }
        }
    }

    func testRuntimeSettingsUpdate_reconcilesTheHostsScopeBesideTheLibrarys() async throws {
        let library = try example()
        try await TestSandbox.withRuntime { runtime, _ in
            let session = try await runtime.createSession(id: "reconciled", options: SandboxSessionOptions(pluginLibraries: [library]))
            var settings = runtime.settings
            settings.plugins["editor"] = PluginConfig(enabled: false)
            _ = try await runtime.updateSettings(settings)
            let attached = await session.attachedPlugins
            XCTAssertFalse(attached.contains("editor"), "\(attached)")
            XCTAssertTrue(attached.contains("greeter"), "\(attached)")
            let greeted = try await session.emit(Greet(name: "after"))
            XCTAssertEqual(greeted.payload.greeting, "Hello, after! (greeting 1 from a plugin library)")
        }
    }

    func testSupervisorsMemoryMap_neverHoldsTheLibrary_whileTheWorkersDoes() async throws {
        let library = try example()
        try await TestSandbox.withRuntime { runtime, host in
            let session = try await runtime.createSession(id: "mapped", options: SandboxSessionOptions(pluginLibraries: [library]))
            _ = try await session.emit(Greet(name: "map"))
            let pid = try XCTUnwrap(host.summary(of: "mapped")?.pid)
            let supervisor = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
            let worker = try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)
            XCTAssertFalse(supervisor.contains("libGreeter"), "the supervisor mapped the library")
            XCTAssertFalse(supervisor.contains("plugin-library"), "the supervisor mapped the sealed copy")
            XCTAssertTrue(worker.contains("memfd:plugin-library:libGreeter.so"), "the worker did not map the sealed copy")
        }
    }

    func testPinnedDigest_ofTheFile_isAccepted() async throws {
        let path = try PluginLibraryFixtures.exampleLibrary()
        let pinned = PluginLibraryReference(path: path, sha256: try PluginLibraryFixtures.sha256(of: path).uppercased())
        try await TestSandbox.withRuntime { runtime, _ in
            let session = try await runtime.createSession(id: "pinned", options: SandboxSessionOptions(pluginLibraries: [pinned]))
            let greeted = try await session.emit(Greet(name: "pin"))
            XCTAssertEqual(greeted.payload.greeting, "Hello, pin! (greeting 1 from a plugin library)")
        }
    }

    func testTamperedLibrary_isRefusedBeforeAnySpawn_namingBothDigests() async throws {
        let copy = try PluginLibraryFixtures.copy(try PluginLibraryFixtures.exampleLibrary())
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let pin = try PluginLibraryFixtures.sha256(of: copy)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: copy))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        let tampered = try PluginLibraryFixtures.sha256(of: copy)
        try await TestSandbox.withRuntime { runtime, host in
            do {
                _ = try await runtime.createSession(
                    id: "tampered", options: SandboxSessionOptions(pluginLibraries: [PluginLibraryReference(path: copy, sha256: pin)]))
                XCTFail("a library whose bytes are not the pinned ones was loaded")
            } catch let error as PluginLibraryError {
                XCTAssertEqual(error.reason, .digestMismatch)
                XCTAssertEqual(error.path, copy)
                XCTAssertEqual(error.expected, pin)
                XCTAssertEqual(error.actual, tampered)
                XCTAssertTrue("\(error)".contains(pin) && "\(error)".contains(tampered), "\(error)")
            }
            XCTAssertTrue(host.summaries().isEmpty, "a worker was spawned for a refused library")
        }
    }

    func testFileRewrittenWhileTheSessionRuns_aRestartStillMapsTheSealedBytes() async throws {
        let copy = try PluginLibraryFixtures.copy(try PluginLibraryFixtures.exampleLibrary())
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try await TestSandbox.withRuntime { runtime, host in
            let session = try await runtime.createSession(
                id: "rewritten", options: SandboxSessionOptions(restart: .onCrash(), pluginLibraries: [PluginLibraryReference(path: copy)]))
            let first = try XCTUnwrap(host.summary(of: "rewritten")?.pid)
            try Data("not a library any more".utf8).write(to: URL(fileURLWithPath: copy))
            try await host.restart("rewritten")
            let deadline = ContinuousClock.now + .seconds(10)
            while host.summary(of: "rewritten")?.pid == first || host.summary(of: "rewritten")?.state != "running", ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTAssertNotEqual(host.summary(of: "rewritten")?.pid, first, "the session was not restarted")
            let greeted = try await session.emit(Greet(name: "again"))
            XCTAssertEqual(greeted.payload.greeting, "Hello, again! (greeting 1 from a plugin library)")
        }
    }

    func testMissingLibrary_isRefusedNamingThePath() async throws {
        let path = NSTemporaryDirectory() + "no-such-library-\(UUID().uuidString.prefix(8)).so"
        try await assertRefused(PluginLibraryReference(path: path), reason: .unreadable) { error in
            XCTAssertEqual(error.path, path)
            XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("No such file"), "\(error)")
        }
    }

    func testExecutableThatIsNoPluginLibrary_isRefused() async throws {
        try await assertRefused(PluginLibraryReference(path: "/bin/true"), reason: .notAPluginLibrary) { error in
            XCTAssertTrue("\(error)".contains("no PluginSandbox note"), "\(error)")
        }
    }

    func testLibraryFromAnotherToolchain_isRefusedNamingBothFingerprints() async throws {
        let path = try PluginLibraryFixtures.compile("no_entry_point", with: .gcc)
        try await assertRefused(PluginLibraryReference(path: path), reason: .incompatible) { error in
            XCTAssertEqual(error.expected, PluginLibraryFingerprint.current)
            XCTAssertTrue(error.actual?.contains("toolchain gcc") == true, "\(error)")
            XCTAssertTrue("\(error)".contains(PluginLibraryFingerprint.current), "\(error)")
        }
    }

    func testLibraryOfAnotherRelease_isRefusedNamingBothFingerprints() async throws {
        let path = try PluginLibraryFixtures.compile("foreign_note")
        try await assertRefused(PluginLibraryReference(path: path), reason: .incompatible) { error in
            XCTAssertTrue(error.actual?.hasPrefix("PluginSandbox 0.9.0;") == true, "\(error)")
            XCTAssertEqual(error.expected, PluginLibraryFingerprint.current)
        }
    }

    func testEntryPointDeclaringAnotherProtocol_isRefusedByTheWorker() async throws {
        let path = try PluginLibraryFixtures.compile("lying_entry_point")
        let error = try await failedStart(PluginLibraryReference(path: path))
        XCTAssertEqual(error.cause?.kind, .pluginLoadFailed)
        XCTAssertTrue(error.message.contains(path), error.message)
        XCTAssertTrue(error.message.contains("protocol version 3") && error.message.contains("speaks 2"), error.message)
    }

    func testLibraryWithoutItsEntryPoint_failsTheSessionWithPluginLoadFailed() async throws {
        let path = try PluginLibraryFixtures.compile("no_entry_point")
        let error = try await failedStart(PluginLibraryReference(path: path))
        XCTAssertEqual(error.code, .startFailed)
        XCTAssertEqual(error.cause?.kind, .pluginLoadFailed)
        XCTAssertTrue(error.message.contains(path) && error.message.contains("pluginsandbox_library_v1"), error.message)
    }

    // MARK: Helpers

    private func assertRefused(_ reference: PluginLibraryReference, reason: PluginLibraryError.Reason,
                               _ check: (PluginLibraryError) -> Void) async throws {
        try await TestSandbox.withRuntime { runtime, host in
            do {
                _ = try await runtime.createSession(id: "refused", options: SandboxSessionOptions(pluginLibraries: [reference]))
                XCTFail("\(reference) was accepted")
            } catch let error as PluginLibraryError {
                XCTAssertEqual(error.reason, reason, "\(error)")
                check(error)
            }
            XCTAssertTrue(host.summaries().isEmpty, "a worker was spawned for a refused library")
        }
    }

    private func failedStart(_ reference: PluginLibraryReference) async throws -> SessionError {
        try await TestSandbox.withRuntime { runtime, _ in
            do {
                _ = try await runtime.createSession(id: "unloadable", options: SandboxSessionOptions(pluginLibraries: [reference]))
            } catch let error as SessionError {
                return error
            }
            XCTFail("\(reference) loaded")
            throw SessionDidNotEnd()
        }
    }
}

/// The example library's event and request, as a host that knows them only by wire name declares them.
struct Greet: WireEvent, Equatable {
    var name: String
    var greeting: String?
}

struct GreetingCount: WireRequest, Equatable {
    typealias Response = Int
}

struct Greeted: WireEvent, Equatable {
    var name: String
}

/// A request no plugin answers, in any scope.
private struct Unasked: WireRequest {
    typealias Response = Int
}
