import Foundation
import PluginKit

/// What `sandboxctl ls` and `inspect` show of a session.
public struct SessionSummary: Sendable, Codable, Equatable {
    /// The session's id.
    public var id: SessionID
    /// Its current worker's pid, while one runs.
    public var pid: Int32?
    /// `starting`, `running`, `restarting (attempt N)`, `disposing`, `ended` or `crashed`.
    public var state: String
    /// When its current worker became ready (uptime restarts with the worker).
    public var startedAt: Date
    /// Resident memory of the worker, when sampled.
    public var residentBytes: Int?
    /// CPU time of the worker, when sampled.
    public var cpuSeconds: Double?
    /// Frames received from and sent to the worker.
    public var eventsIn: Int
    public var eventsOut: Int
    /// Restarts so far.
    public var restarts: Int
    /// Why its last worker ended, if one did.
    public var lastCause: ExitCause?
    /// The profile its workers run under.
    public var profile: String
    /// Its restart policy, in words.
    public var restartPolicy: String
    /// Plugins its settings enable, and those attached.
    public var enabledPlugins: [String]
    public var attachedPlugins: [String]
    /// Every confinement layer its worker engaged (`DEGRADED` marks a layer that could not be).
    public var sandboxLayers: [String]
    /// Its cgroup, in words (`cgroup v1: memory 256 MiB, cpu 100%, pids 64`), when one is engaged.
    public var resources: String?
}
