/// The supervisor-side limits for one worker, taken from its sandbox profile.
public struct WorkerLimits: Sendable, Equatable, Codable {
    /// Largest frame either side may send.
    public var maximumFrameLength: Int
    /// Most calls a worker may have in flight towards the supervisor at once; past it is a breach.
    public var maximumInFlight: Int
    /// Bytes queued towards a worker that stopped reading before it is killed as in breach.
    public var maximumQueuedBytes: Int
    /// Interval between heartbeat pings.
    public var heartbeatInterval: Duration
    /// Silence (or one handler running) longer than this kills the worker as hung.
    public var heartbeatTimeout: Duration
    /// Resident memory over this kills the worker (nil: no supervisor-side memory limit).
    public var memoryLimitBytes: Int?
    /// Time allowed for hello → welcome → ready.
    public var handshakeTimeout: Duration
    /// Default timeout of a call into the worker.
    public var requestTimeout: Duration
    /// Log records per second a worker may send before it is in breach.
    public var maximumLogRate: Int

    /// Creates limits.
    public init(
        maximumFrameLength: Int = 1 << 20,
        maximumInFlight: Int = 256,
        maximumQueuedBytes: Int = 8 << 20,
        heartbeatInterval: Duration = .milliseconds(500),
        heartbeatTimeout: Duration = .seconds(3),
        memoryLimitBytes: Int? = 256 << 20,
        handshakeTimeout: Duration = .seconds(5),
        requestTimeout: Duration = .seconds(10),
        maximumLogRate: Int = 2_000
    ) {
        self.maximumFrameLength = maximumFrameLength
        self.maximumInFlight = maximumInFlight
        self.maximumQueuedBytes = maximumQueuedBytes
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.memoryLimitBytes = memoryLimitBytes
        self.handshakeTimeout = handshakeTimeout
        self.requestTimeout = requestTimeout
        self.maximumLogRate = maximumLogRate
    }
}
