import PluginWire

/// How much of each kind of message one worker may send, and how large: the supervisor's
/// defence against a worker that floods, so that no worker can make it slow or blind for the
/// others. Past a limit the worker is in breach and is killed with that cause named.
public struct InboundPolicy: Sendable, Equatable {
    /// A rate: `perSecond` sustained, `burst` at once.
    public struct Rate: Sendable, Equatable {
        /// Sustained messages (or bytes) per second.
        public var perSecond: Double
        /// The most admitted at once.
        public var burst: Double

        /// Creates a rate.
        public init(perSecond: Double, burst: Double) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    /// Log records.
    public var logRecords = Rate(perSecond: 500, burst: 1_000)
    /// Bytes of log text.
    public var logBytes = Rate(perSecond: 256 * 1024, burst: 1024 * 1024)
    /// `error` frames (each is logged).
    public var errors = Rate(perSecond: 5, burst: 20)
    /// Replies nobody waits for (late, or made up) and cancels of calls not in flight.
    public var unsolicited = Rate(perSecond: 20, burst: 100)
    /// `globalBus` emits and requests (also bounded by the in-flight limit). Each is served by the
    /// supervisor, whose CPU every session shares: at 14,600 requests a second within the former
    /// default (20,000/s), one session raised a bystander's p99 request time 8.7× on two CPUs; at
    /// 1,800/s, 1.3×. A host whose sessions talk to global plugins more raises it.
    public var globalCalls = Rate(perSecond: 2_000, burst: 4_000)
    /// Every byte the worker sends.
    public var bytes = Rate(perSecond: 64 * 1024 * 1024, burst: 64 * 1024 * 1024)
    /// Bytes of stdout/stderr read from the worker's output pipe; past it the supervisor stops
    /// reading for a while and the worker's writes wait (no breach: printing is not an attack).
    public var outputBytes = Rate(perSecond: 1024 * 1024, burst: 4 * 1024 * 1024)
    /// Largest body of a message that carries no payload (`pong`, `cancel`, `bye`, `ready`).
    public var smallMessageLength = 4 * 1024
    /// Largest body of a `hello`, `log` or `error` frame.
    public var textMessageLength = 64 * 1024
    /// Longest log or error text kept (longer text is cut, with a marker).
    public var maximumLogTextLength = 4 * 1024
    /// Most metadata entries kept per log record.
    public var maximumLogMetadata = 16

    /// The default policy.
    public init() {}

    /// The largest body allowed for `kind`, given the negotiated frame maximum.
    func maximumLength(of kind: WireMessage.Kind, frameMaximum: Int) -> Int {
        switch kind {
        case .pong, .cancel, .bye, .ready: return smallMessageLength
        case .hello, .log, .error: return textMessageLength
        default: return frameMaximum
        }
    }
}
