import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Spawns confined worker processes, each a child of this (supervisor) process. Thread-safe;
/// `spawn` may be called concurrently and never blocks the caller's thread.
///
/// In zygote mode the main zygote starts one profile zygote per distinct profile on first use
/// (at most 8, the least recently used idle one evicted), which has entered the profile's
/// namespaces, built its minimal root, compiled its filter and prepared its Landlock ruleset once;
/// each worker is forked from it and only confines itself. In exec mode each worker does all of
/// that itself (slower; the fallback when no zygote runs).
public final class WorkerSpawner: Sendable {
    /// How this spawner creates workers.
    public let mode: SpawnMode
    /// The executable exec mode runs (with the worker marker).
    public let executable: String
    /// The pool workers that switch users lease their uid from.
    public let identities: WorkerIdentityPool
    /// The mode used when `mode` is zygote and the zygote has died: exec when the mode was chosen
    /// automatically, none when the caller asked for zygote explicitly.
    private let fallback: SpawnMode?

    /// Creates a spawner. `mode` nil picks zygote when `WorkerBootstrap.start` started one, else
    /// exec; an automatically chosen zygote mode falls back to exec if the zygote dies.
    ///
    /// Throws ``SpawnError/Step/bootstrapMissing`` when `executable` is this process's own and
    /// `WorkerBootstrap.start` has not run: the host could not serve as its own worker.
    public init(mode: SpawnMode? = nil, executable: String = "/proc/self/exe", identities: WorkerIdentityPool = .shared) throws(SpawnError) {
        if !WorkerBootstrap.isStarted && (executable == "/proc/self/exe" || realPath(executable) == realPath("/proc/self/exe")) {
            throw SpawnError(
                step: .bootstrapMissing, errno: 0,
                detail: "WorkerBootstrap.start must be the first statement of main: this executable was never bootstrapped, so it cannot serve as its own worker")
        }
        let zygoteRunning = WorkerBootstrap.zygoteIsRunning
        self.mode = mode ?? (zygoteRunning ? .zygote : .exec)
        self.fallback = mode == nil ? .exec : nil
        self.executable = executable
        self.identities = identities
    }

    /// Spawns one worker. When the request names no identity, its profile switches users and this
    /// process runs as root, the worker leases a uid of ``identities`` until it is reaped.
    /// Throws `encodeRequest` with EINVAL when an environment name is empty or contains `=` or NUL,
    /// a value contains NUL, or the request carries more than
    /// ``SpawnRequest/maximumJoinDescriptors`` join descriptors.
    public func spawn(_ request: SpawnRequest) async throws(SpawnError) -> SpawnedWorker {
        for (name, value) in request.environment
        where name.isEmpty || name.contains("=") || name.contains("\0") || value.contains("\0") {
            throw SpawnError(step: .encodeRequest, errno: EINVAL, detail: "environment variable \(name.debugDescription)")
        }
        guard request.joinDescriptors.count <= SpawnRequest.maximumJoinDescriptors else {
            throw SpawnError(step: .encodeRequest, errno: EINVAL,
                             detail: "\(request.joinDescriptors.count) join descriptors; at most \(SpawnRequest.maximumJoinDescriptors)")
        }
        guard request.libraries.count <= SpawnRequest.maximumLibraries else {
            throw SpawnError(step: .encodeRequest, errno: EINVAL,
                             detail: "\(request.libraries.count) plugin libraries; at most \(SpawnRequest.maximumLibraries)")
        }
        let lease = request.identity == nil && request.profile.identity.switchUser && geteuid() == 0 ? try identities.lease() : nil
        let identity = request.identity ?? lease?.identity
        let zygotePlan = WorkerLaunchPlan(
            sessionID: request.sessionID, profile: nil, identity: identity, environment: request.environment,
            supervisorPID: getpid(), joinCount: request.joinDescriptors.count, joinsCgroupDirectory: request.cgroupDirectory != nil,
            libraries: request.libraries.map(\.launchDescription))
        var execPlan = zygotePlan
        execPlan.profile = request.profile
        let libraries = request.libraries.map(\.descriptor)
        let exec = SpawnJob.exec(execPlan, executable: executable, joins: request.joinDescriptors, cgroup: request.cgroupDirectory,
                                 libraries: libraries)
        var usedMode = mode
        var result: Result<SpawnOutcome?, SpawnError>
        if mode == .zygote {
            result = await perform(.zygote(zygotePlan, profile: request.profile, joins: request.joinDescriptors,
                                           cgroup: request.cgroupDirectory, libraries: libraries))
            if case .failure(let error) = result, error.step == .zygoteUnavailable, fallback == .exec {
                usedMode = .exec
                result = await perform(exec)
            }
        } else {
            result = await perform(exec)
        }
        switch result {
        case .success(let outcome?):
            return SpawnedWorker(
                pid: outcome.pid, process: ProcessHandle(pid: outcome.pid, pidfd: outcome.pidfd, lease: lease),
                socket: outcome.socket, output: outcome.output, bootstrap: outcome.bootstrap, mode: usedMode, identity: identity,
                libraries: request.libraries)
        case .success(nil):
            lease?.release()
            throw SpawnError(step: .zygoteReply, errno: EPROTO, detail: "no worker came back")
        case .failure(let error):
            lease?.release()
            throw error
        }
    }

    /// Sends `bytes` to the main zygote as a request, unchecked: for probing how the zygote answers
    /// malformed input. Returns when it answered; throws the failure it reported.
    @_spi(Testing)
    public func submitRawZygoteRequest(_ bytes: [UInt8]) async throws(SpawnError) {
        if case .failure(let error) = await perform(.raw(bytes)) { throw error }
    }

    private func perform(_ job: SpawnJob) async -> Result<SpawnOutcome?, SpawnError> {
        switch SpawnDispatcher.shared {
        case .success(let dispatcher): return await dispatcher.perform(job)
        case .failure(let error): return .failure(error)
        }
    }
}
