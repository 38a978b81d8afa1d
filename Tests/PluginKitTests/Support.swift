import PluginKit
import Synchronization
import XCTest

struct Ping: WireEvent, Equatable { var value: Int }
struct Note: WireEvent, Equatable { var text: String }
struct Ask: WireRequest, Equatable { typealias Response = String; var question: String }

/// Records what happened, in order, across plugins.
final class Journal: Sendable {
    let entries = Mutex<[String]>([])
    func add(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}

final class Counter: Sendable {
    let value = Mutex(0)
    @discardableResult func next() -> Int { value.withLock { $0 += 1; return $0 } }
    var current: Int { value.withLock { $0 } }
}

struct TestFailure: Error, CustomStringConvertible { var description: String }

/// A configurable global plugin.
struct GlobalProbe: GlobalPlugin {
    let id: PluginID
    var dependencies: [PluginID] = []
    var flags: PluginFlags = []
    var journal = Journal()
    var failAttach = false
    var failDetach = false
    var failRegister = false
    var onAttach: (@Sendable (GlobalPluginContext) async throws -> Void)? = nil

    func register(_ registry: ServiceRegistry, context: GlobalPluginContext) throws {
        journal.add("\(id).register")
        if failRegister { throw TestFailure(description: "\(id) register failed") }
        try registry.registerSingleton(ServiceID("\(id).service"), plugin: id, "service of \(id)")
    }
    func attach(_ context: GlobalPluginContext) async throws {
        journal.add("\(id).attach")
        if failAttach { throw TestFailure(description: "\(id) attach failed") }
        try await onAttach?(context)
    }
    func detach(_ context: GlobalPluginContext) async throws {
        journal.add("\(id).detach")
        if failDetach { throw TestFailure(description: "\(id) detach failed") }
    }
    func onPluginSettingsChanged(from old: PluginConfig?, to new: PluginConfig?, context: GlobalPluginContext) async throws {
        journal.add("\(id).changed")
    }
}

/// A configurable session plugin.
struct SessionProbe: SessionPlugin {
    let id: PluginID
    var dependencies: [PluginID] = []
    var flags: PluginFlags = []
    var journal = Journal()
    var failAttachWhen: @Sendable (SessionPluginContext) -> Bool = { _ in false }

    func register(_ registry: ServiceRegistry, context: SessionPluginContext) throws {
        journal.add("\(context.sessionID).\(id).register")
        try registry.registerLazySingleton(ServiceID("\(id).state"), plugin: id) { Counter() }
    }
    func attach(_ context: SessionPluginContext) async throws {
        journal.add("\(context.sessionID).\(id).attach")
        if failAttachWhen(context) { throw TestFailure(description: "\(id) refuses \(context.sessionID)") }
        context.on(Ping.self, for: id) { envelope in envelope.payload.value += 1 }
        context.onRequest(Ask.self, for: id) { ask in "\(context.sessionID) answers \(ask.question)" }
    }
    func detach(_ context: SessionPluginContext) async throws {
        journal.add("\(context.sessionID).\(id).detach")
    }
}

extension RuntimeSettings {
    func enabling(_ id: PluginID, _ enabled: Bool, config: [String: ConfigValue] = [:]) -> RuntimeSettings {
        var copy = self
        copy.plugins[id] = PluginConfig(enabled: enabled, config: config)
        return copy
    }
}

/// Asserts that `expression` throws, and hands the error to `check`.
func XCTAssertThrowsErrorAsync<T>(_ expression: @autoclosure () async throws -> T, file: StaticString = #filePath, line: UInt = #line,
                                  _ check: (any Error) -> Void = { _ in }) async {
    do {
        _ = try await expression()
        XCTFail("expected an error", file: file, line: line)
    } catch {
        check(error)
    }
}
