/// A heartbeat probe from the supervisor.
public struct Ping: Sendable, Equatable {
    /// Correlation id; the ``Pong`` carries the same id.
    public var id: UInt64

    /// Creates a ping.
    public init(id: UInt64) { self.id = id }
}

/// The worker's heartbeat answer, naming the handler it is running if any.
public struct Pong: Sendable, Equatable {
    /// The id of the ``Ping`` this answers.
    public var id: UInt64
    /// The handler running right now, so a hang can be attributed.
    public var busy: BusyHandler?

    /// Creates a pong.
    public init(id: UInt64, busy: BusyHandler? = nil) {
        self.id = id
        self.busy = busy
    }
}

/// The handler a worker is running when it answers a ``Ping``.
public struct BusyHandler: Sendable, Equatable {
    /// The wire name of the event or request being handled.
    public var event: String
    /// The plugin whose handler is running, when known.
    public var plugin: String?
    /// How long the handler has been running.
    public var sinceMilliseconds: Int

    /// Creates a busy-handler record.
    public init(event: String, plugin: String? = nil, sinceMilliseconds: Int) {
        self.event = event
        self.plugin = plugin
        self.sinceMilliseconds = sinceMilliseconds
    }
}
