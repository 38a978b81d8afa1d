/// Why a worker could not start, as it reports over its bootstrap channel before exiting with
/// ``WorkerBootstrap/confinementFailureExitCode`` (no plugin code has run).
public struct WorkerStartFailure: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The stage that failed: `plan` (launch plan missing or malformed), `cgroup` (joining a cgroup),
    /// `descriptors`, `prepare` (namespaces, root, filter, ruleset of an exec'd worker) or
    /// `confinement`.
    public var stage: String
    /// What failed, for the operator.
    public var detail: String

    /// Creates a failure record.
    public init(stage: String, detail: String) {
        self.stage = stage
        self.detail = detail
    }

    public var description: String { "worker start failed at \(stage): \(detail)" }
}
