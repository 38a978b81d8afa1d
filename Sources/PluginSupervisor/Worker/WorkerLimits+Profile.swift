import PluginSandbox

extension WorkerLimits {
    /// The supervisor-side limits a profile declares in its `supervision` section.
    public init(profile: SandboxProfile) {
        let supervision = profile.supervision
        self.init(
            maximumFrameLength: supervision.maximumFrameLength,
            maximumInFlight: supervision.maximumInFlight,
            heartbeatInterval: .milliseconds(supervision.heartbeatIntervalMilliseconds),
            heartbeatTimeout: .milliseconds(supervision.heartbeatTimeoutMilliseconds),
            memoryLimitBytes: supervision.memoryLimitBytes,
            requestTimeout: .milliseconds(supervision.requestTimeoutMilliseconds))
    }
}
