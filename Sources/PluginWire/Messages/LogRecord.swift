/// A log record from the worker, forwarded into the supervisor's logger.
public struct LogRecord: Sendable, Equatable {
    /// A swift-log level name: `trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`.
    public var level: String
    /// The log message.
    public var message: String
    /// Structured metadata.
    public var metadata: [String: String]

    /// Creates a log record.
    public init(level: String, message: String, metadata: [String: String] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}
