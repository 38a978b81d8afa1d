import Logging
import PluginWire

/// A swift-log handler inside the worker that sends every record to the supervisor as a
/// ``LogRecord`` frame; the supervisor timestamps it, escapes it and adds it to the session's log.
///
/// Records below `logLevel` are dropped in the worker, so a chatty plugin does not spend its
/// log-rate budget on lines nobody reads.
struct WireLogHandler: LogHandler {
    let connection: WorkerConnection
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = self.metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var flat: [String: String] = [:]
        for (key, value) in merged { flat[key] = "\(value)" }
        connection.send(.log(LogRecord(level: event.level.rawValue, message: "\(event.message)", metadata: flat)))
    }
}
