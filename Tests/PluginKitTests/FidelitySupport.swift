import Logging
import PluginKit
import Synchronization
import XCTest

/// A stateful service that records its lifecycle in a journal under its name, and can be told to fail.
final class RecordingService: StatefulPluginService {
    let name: String
    let journal: Journal
    let failAttach = Mutex(false)
    let failDetach = Mutex(false)
    let onAttach: @Sendable (ServiceContext) -> Void
    private let detachHook = Mutex<(@Sendable () async -> Void)?>(nil)

    /// Runs inside `detach`, before it records anything.
    var onDetach: (@Sendable () async -> Void)? {
        get { detachHook.withLock { $0 } }
        set { detachHook.withLock { $0 = newValue } }
    }

    init(_ name: String, journal: Journal, failAttach: Bool = false, failDetach: Bool = false,
         onAttach: @escaping @Sendable (ServiceContext) -> Void = { _ in }) {
        self.name = name
        self.journal = journal
        self.onAttach = onAttach
        self.failAttach.withLock { $0 = failAttach }
        self.failDetach.withLock { $0 = failDetach }
    }

    func configure(_ configuration: ServiceConfiguration) {}

    func attach(_ context: ServiceContext) async throws {
        journal.add("\(name).attach")
        onAttach(context)
        if failAttach.withLock({ $0 }) { throw TestFailure(description: "\(name) attach failed") }
    }

    func detach() async throws {
        await onDetach?()
        journal.add("\(name).detach")
        if failDetach.withLock({ $0 }) { throw TestFailure(description: "\(name) detach failed") }
    }
}

/// A session plugin that registers the given stateful services (one instance per session,
/// built by `make`) and records its own lifecycle.
struct ServiceOwner: SessionPlugin {
    let id: PluginID
    var dependencies: [PluginID] = []
    var flags: PluginFlags = []
    let journal: Journal
    var services: [ServiceID] = []
    var make: @Sendable (ServiceID) -> RecordingService
    var failAttach = false
    var failDetach = false
    var onChanged: @Sendable () throws -> Void = {}

    func register(_ registry: ServiceRegistry, context: SessionPluginContext) throws {
        for service in services { try registry.registerSingleton(service, plugin: id, make(service)) }
    }
    func attach(_ context: SessionPluginContext) async throws {
        journal.add("\(id).attach")
        if failAttach { throw TestFailure(description: "\(id) attach failed") }
    }
    func detach(_ context: SessionPluginContext) async throws {
        journal.add("\(id).detach")
        if failDetach { throw TestFailure(description: "\(id) detach failed") }
    }
    func onPluginSettingsChanged(from old: PluginConfig?, to new: PluginConfig?, context: SessionPluginContext) async throws {
        journal.add("\(id).changed")
        try onChanged()
    }
}

/// A global plugin whose every lifecycle step can be scripted.
struct ScriptedGlobal: GlobalPlugin {
    let id: PluginID
    var dependencies: [PluginID] = []
    var flags: PluginFlags = []
    var register: @Sendable (ServiceRegistry) throws -> Void = { _ in }
    var attach: @Sendable (GlobalPluginContext) async throws -> Void = { _ in }
    var detach: @Sendable () async throws -> Void = {}
    var changed: @Sendable (PluginConfig?, PluginConfig?) async throws -> Void = { _, _ in }

    func register(_ registry: ServiceRegistry, context: GlobalPluginContext) throws { try register(registry) }
    func attach(_ context: GlobalPluginContext) async throws { try await attach(context) }
    func detach(_ context: GlobalPluginContext) async throws { try await detach() }
    func onPluginSettingsChanged(from old: PluginConfig?, to new: PluginConfig?, context: GlobalPluginContext) async throws {
        try await changed(old, new)
    }
}

/// A session plugin whose every lifecycle step can be scripted.
struct ScriptedSession: SessionPlugin {
    let id: PluginID
    var dependencies: [PluginID] = []
    var flags: PluginFlags = []
    var register: @Sendable (ServiceRegistry, SessionPluginContext) throws -> Void = { _, _ in }
    var attach: @Sendable (SessionPluginContext) async throws -> Void = { _ in }
    var detach: @Sendable (SessionPluginContext) async throws -> Void = { _ in }
    var changed: @Sendable (SessionPluginContext) async throws -> Void = { _ in }

    func register(_ registry: ServiceRegistry, context: SessionPluginContext) throws { try register(registry, context) }
    func attach(_ context: SessionPluginContext) async throws { try await attach(context) }
    func detach(_ context: SessionPluginContext) async throws { try await detach(context) }
    func onPluginSettingsChanged(from old: PluginConfig?, to new: PluginConfig?, context: SessionPluginContext) async throws {
        try await changed(context)
    }
}

/// A flag tests flip from inside plugins.
final class Flag: Sendable {
    private let value: Mutex<Bool>
    init(_ value: Bool = false) { self.value = Mutex(value) }
    var isSet: Bool { value.withLock { $0 } }
    func set(_ newValue: Bool = true) { value.withLock { $0 = newValue } }
}

/// Holds a value captured inside a plugin so the test can read it afterwards.
final class Captured<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    var current: Value? { value.withLock { $0 } }
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
}

/// Log records, captured for assertions about what the runtime reports.
final class LogCapture: Sendable {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
        var text: String { ([message] + metadata.keys.sorted().map { "\($0)=\(metadata[$0] ?? "")" }).joined(separator: " ") }
    }

    private let records = Mutex<[Record]>([])

    var all: [Record] { records.withLock { $0 } }
    func add(_ record: Record) { records.withLock { $0.append(record) } }

    /// A logger whose records land here.
    var logger: Logger { Logger(label: "test") { _ in Handler(capture: self) } }

    /// Records at error level or above whose text contains every one of `words`.
    func errors(containing words: String...) -> [Record] {
        all.filter { $0.level >= .error && words.allSatisfy($0.text.contains) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.add(Record(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}
