import PluginSandbox

extension WorkerLimits {
    /// The supervisor-side limits a profile declares.
    public init(profile: SandboxProfile) {
        self.init()
    }
}
