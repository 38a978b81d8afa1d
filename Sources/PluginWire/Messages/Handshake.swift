/// The worker's first frame: who it is and what it offers.
public struct Hello: Codable, Sendable, Equatable {
    /// The protocol version the worker speaks (``ProtocolVersion/current``).
    public var protocolVersion: Int
    /// The session the worker was spawned for.
    public var sessionID: String
    /// The worker's process id as it sees it.
    public var pid: Int32
    /// Plugin ids the worker's catalog offers.
    public var plugins: [String]
    /// Confinement layers in force (for example `seccomp`, `landlock`, `rlimits`).
    public var sandboxLayers: [String]

    /// Creates a hello.
    public init(protocolVersion: Int = ProtocolVersion.current, sessionID: String, pid: Int32,
                plugins: [String], sandboxLayers: [String]) {
        self.protocolVersion = protocolVersion
        self.sessionID = sessionID
        self.pid = pid
        self.plugins = plugins
        self.sandboxLayers = sandboxLayers
    }
}

/// The supervisor's answer to ``Hello``: the session's settings and the limits in force.
public struct Welcome: Codable, Sendable, Equatable {
    /// The protocol version the supervisor speaks.
    public var protocolVersion: Int
    /// The session id, echoed.
    public var sessionID: String
    /// The session's `RuntimeSettings` as JSON.
    public var settings: JSONValue
    /// The largest frame body either side may send from now on.
    public var maximumFrameLength: Int
    /// How often the supervisor pings; a worker that misses pongs is killed.
    public var heartbeatIntervalMilliseconds: Int
    /// The most requests and emits the worker may have outstanding at once.
    public var maximumInFlight: Int

    /// Creates a welcome.
    public init(protocolVersion: Int = ProtocolVersion.current, sessionID: String, settings: JSONValue,
                maximumFrameLength: Int = WireLimits.defaultMaximumFrameLength,
                heartbeatIntervalMilliseconds: Int, maximumInFlight: Int) {
        self.protocolVersion = protocolVersion
        self.sessionID = sessionID
        self.settings = settings
        self.maximumFrameLength = maximumFrameLength
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.maximumInFlight = maximumInFlight
    }
}

/// Sent by the worker once its session scope is built.
public struct Ready: Codable, Sendable, Equatable {
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
