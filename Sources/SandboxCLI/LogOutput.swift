import ArgumentParser
import Foundation
import Logging
import Synchronization

/// How the program logs: the format and the level, chosen on the command line (`serve
/// --log-format json --log-level debug`) and applied once, by the executable's
/// `LoggingSystem.bootstrap(invocation.logOutput.makeHandler)`.
public struct LogOutput: Sendable, Equatable {
    /// A log line format.
    public enum Format: String, Sendable, ExpressibleByArgument, CaseIterable {
        /// swift-log's `StreamLogHandler` lines, for people.
        case text
        /// One JSON object per line (`time`, `level`, `label`, `message`, metadata), for journald and collectors.
        case json
    }

    /// The line format.
    public var format: Format
    /// The lowest level written.
    public var level: Logger.Level

    /// Creates an output.
    public init(format: Format = .text, level: Logger.Level = .warning) {
        self.format = format
        self.level = level
    }

    /// A handler writing to standard error in ``format`` from ``level`` up.
    public func makeHandler(label: String) -> any LogHandler {
        switch format {
        case .text:
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        case .json:
            var handler = JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {
    public static var allValueStrings: [String] { Logger.Level.allCases.map(\.rawValue) }
}

/// A swift-log handler that writes each record as one JSON object on one line of standard error:
/// `{"time":"2025-01-01T00:00:00.000Z","level":"info","label":"sandboxctl","message":"…","session":"doc-1"}`.
/// Metadata keys sit beside the fixed ones (a key that collides with one is prefixed `meta.`).
public struct JSONLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let write: @Sendable (String) -> Void

    /// A handler labelled `label`, writing to standard error.
    public init(label: String) {
        self.init(label: label, write: { line in JSONLogHandler.standardError.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) } })
    }

    /// A handler writing each line to `write` (tests capture the lines).
    public init(label: String, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.write = write
    }

    private static let standardError = Mutex(())
    private static let fixedKeys: Set<String> = ["time", "level", "label", "message", "source"]

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let given = event.metadata { merged.merge(given) { _, new in new } }
        var object: [String: Any] = [
            "time": Self.timestamp(), "level": event.level.rawValue, "label": label, "message": event.message.description,
            "source": event.source,
        ]
        for (key, value) in merged {
            object[Self.fixedKeys.contains(key) ? "meta." + key : key] = Self.json(value)
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return values.map(json)
        case .dictionary(let values): return values.mapValues(json)
        }
    }

    private static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
