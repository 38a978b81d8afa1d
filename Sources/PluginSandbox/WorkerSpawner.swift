#if canImport(Glibc)
import Glibc
#endif

/// Spawns confined worker processes, each a child of this (supervisor) process. Thread-safe;
/// `spawn` may be called concurrently.
public final class WorkerSpawner: Sendable {
    /// How this spawner creates workers.
    public let mode: SpawnMode
    /// The executable exec mode runs (with the hidden worker argument).
    public let executable: String
    /// The mode used when `mode` is zygote and the zygote has died: exec when the mode was chosen
    /// automatically, none when the caller asked for zygote explicitly.
    private let fallback: SpawnMode?

    /// Creates a spawner. `mode` nil picks zygote when `WorkerBootstrap.start` started one (the faster
    /// mode: about 0.6 ms from spawn to first message against about 5 ms for exec, and a third of the
    /// idle memory; `spawn-probe bench`), else exec; an automatically chosen zygote mode falls back to
    /// exec if the zygote dies.
    public init(mode: SpawnMode? = nil, executable: String = "/proc/self/exe") {
        let zygoteRunning = WorkerBootstrap.zygoteIsRunning
        self.mode = mode ?? (zygoteRunning ? .zygote : .exec)
        self.fallback = mode == nil ? .exec : nil
        self.executable = executable
    }

    /// Spawns one worker. When the request names no identity and this process runs as root, the worker
    /// gets the next identity of `WorkerIdentityPool.shared`.
    /// Throws `encodeRequest` with EINVAL when an environment name is empty or contains `=` or NUL, or a
    /// value contains NUL.
    public func spawn(_ request: SpawnRequest) throws(SpawnError) -> SpawnedWorker {
        for (name, value) in request.environment
        where name.isEmpty || name.contains("=") || name.contains("\0") || value.contains("\0") {
            throw SpawnError(step: .encodeRequest, errno: EINVAL)
        }
        let plan = WorkerLaunchPlan(
            sessionID: request.sessionID,
            profile: request.profile,
            identity: request.identity ?? (geteuid() == 0 ? WorkerIdentityPool.shared.next() : nil),
            environment: request.environment,
            supervisorPID: getpid()
        )
        guard mode == .zygote else {
            return try ExecLauncher.spawn(plan, executable: executable)
        }
        do {
            return try spawnFromZygote(encodedRequest: plan.encoded())
        } catch where error.step == .zygoteUnavailable && fallback == .exec {
            return try ExecLauncher.spawn(plan, executable: executable)
        }
    }

    /// Sends `bytes` to the zygote as a spawn request, unchecked: for probing how the zygote answers
    /// malformed input.
    @_spi(Testing)
    public func submitRawZygoteRequest(_ bytes: [UInt8]) throws(SpawnError) -> SpawnedWorker {
        try spawnFromZygote(encodedRequest: bytes)
    }

    private func spawnFromZygote(encodedRequest: [UInt8]) throws(SpawnError) -> SpawnedWorker {
        guard let zygote = ZygoteClient.current else {
            throw SpawnError(step: .zygoteUnavailable, errno: ESRCH)
        }
        let (pid, descriptors) = try zygote.spawn(encodedRequest: encodedRequest)
        return SpawnedWorker(
            pid: pid,
            process: ProcessHandle(pid: pid, pidfd: descriptors[0]),
            socket: descriptors[1],
            output: descriptors[2],
            reports: descriptors[3],
            mode: .zygote
        )
    }
}
