import Logging
import PluginWire

/// A swift-log handler that sends every record over a session channel as a ``LogRecord``
/// message; the supervisor timestamps it, escapes it and adds it to the session's log.
///
/// Records below `logLevel` are dropped where they are made, so a chatty plugin does not spend
/// its log-rate budget on lines nobody reads.
public struct WireLogHandler: LogHandler {
    /// Where records go.
    public let connection: any WireChannel
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    /// A handler sending over `connection`.
    public init(connection: any WireChannel) {
        self.connection = connection
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var flat: [String: String] = [:]
        for (key, value) in merged { flat[key] = "\(value)" }
        connection.send(.log(LogRecord(level: event.level.rawValue, message: "\(event.message)", metadata: flat)))
    }
}
