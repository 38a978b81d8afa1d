/// The worker's first frame: what it is and what it offers.
///
/// A hello names no session: a spare worker is spawned before it is given one. The session id
/// arrives in ``Welcome``. Confinement is reported over a separate trusted channel, never here.
public struct Hello: Sendable, Equatable {
    /// The protocol version the worker speaks (``ProtocolVersion/current``).
    public var protocolVersion: Int
    /// The worker's process id as it sees it.
    public var pid: Int32
    /// Plugin ids the worker's catalog offers.
    public var plugins: [String]
    /// A fingerprint of the worker's build (free text), so a mismatched binary can be named.
    public var build: String

    /// Creates a hello.
    public init(protocolVersion: Int = ProtocolVersion.current, pid: Int32, plugins: [String], build: String) {
        self.protocolVersion = protocolVersion
        self.pid = pid
        self.plugins = plugins
        self.build = build
    }
}

/// The supervisor's answer to ``Hello``: the session, its settings and the limits in force.
public struct Welcome: Sendable, Equatable {
    /// The protocol version the supervisor speaks.
    public var protocolVersion: Int
    /// The session this worker now serves.
    public var sessionID: String
    /// The session's `RuntimeSettings` as JSON.
    public var settings: RawJSON
    /// The global plugins enabled now (ids), which session plugins may depend on.
    public var globalPlugins: [String]
    /// The largest frame body either side may send from now on.
    public var maximumFrameLength: Int
    /// How often the supervisor pings; a worker that misses pongs is killed.
    public var heartbeatIntervalMilliseconds: Int
    /// The most requests and emits the worker may have outstanding at once.
    public var maximumInFlight: Int
    /// What the worker does with settings that name plugins or services nobody registered:
    /// `throwError` (absent: the default), `logAndSkip` or `ignore`.
    public var unknownReferences: String?

    /// Creates a welcome.
    public init(protocolVersion: Int = ProtocolVersion.current, sessionID: String, settings: RawJSON,
                globalPlugins: [String], maximumFrameLength: Int = WireLimits.defaultMaximumFrameLength,
                heartbeatIntervalMilliseconds: Int, maximumInFlight: Int, unknownReferences: String? = nil) {
        self.unknownReferences = unknownReferences
        self.protocolVersion = protocolVersion
        self.sessionID = sessionID
        self.settings = settings
        self.globalPlugins = globalPlugins
        self.maximumFrameLength = maximumFrameLength
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.maximumInFlight = maximumInFlight
    }
}

/// Sent by the worker once its session scope is built.
public struct Ready: Sendable, Equatable {
    /// Plugins enabled by the session's settings.
    public var enabledPlugins: [String]
    /// Plugins whose attach succeeded.
    public var attachedPlugins: [String]

    /// Creates a ready message.
    public init(enabledPlugins: [String], attachedPlugins: [String]) {
        self.enabledPlugins = enabledPlugins
        self.attachedPlugins = attachedPlugins
    }
}
