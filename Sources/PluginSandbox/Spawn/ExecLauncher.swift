import PluginSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Exec mode: `posix_spawn` of an executable with the worker marker, a clean environment (the
/// plan's, nothing of the supervisor's), stdin on /dev/null, stdout and stderr on the output pipe,
/// the session socket at fd 3, the bootstrap channel at fd 4 (carrying the launch plan in and the
/// worker's report out), the sealed plugin libraries from fd 6, and the join descriptors from fd 10.
///
/// Slower than a zygote: the worker enters its namespaces, builds its root and compiles its filter
/// itself, every time.
enum ExecLauncher {
    /// Runs on the ``SpawnDispatcher`` thread (the worker's parent-death signal is tied to it).
    static func spawn(_ plan: WorkerLaunchPlan, executable: String, joins: [FileDescriptor], cgroup: FileDescriptor?,
                      libraries: [FileDescriptor]) throws(SpawnError) -> SpawnOutcome {
        let encodedPlan = try plan.encoded()
        let channels = try WorkerChannels.create()
        defer { channels.closeWorkerEnds() }
        do throws(SystemCallError) {
            try channels.supervisorBootstrap.sendMessage(encodedPlan)
        } catch {
            channels.closeSupervisorEnds()
            throw SpawnError(step: .encodeRequest, error)
        }
        var placements: [(source: FileDescriptor, slot: Int32)] = [
            (channels.outputWrite, STDOUT_FILENO), (channels.outputWrite, STDERR_FILENO),
            (channels.workerSocket, WorkerChannels.Slot.session), (channels.workerBootstrap, WorkerChannels.Slot.bootstrap),
        ]
        for (index, descriptor) in libraries.enumerated() {
            placements.append((descriptor, WorkerChannels.Slot.firstLibrary + Int32(index)))
        }
        for (index, descriptor) in (joins + (cgroup.map { [$0] } ?? [])).enumerated() {
            placements.append((descriptor, WorkerChannels.Slot.firstFree + Int32(index)))
        }
        // Every source above the highest slot, so no placement overwrites a later source.
        let highest = placements.map(\.slot).max() ?? 0
        var copies: [FileDescriptor] = []
        defer { for copy in copies { copy.closeAfterUse() } }
        do throws(SystemCallError) {
            for index in placements.indices where placements[index].source.rawValue <= highest {
                let copy = try ProcessCalls.duplicate(placements[index].source, atLeast: highest + 1)
                copies.append(copy)
                placements[index].source = copy
            }
        } catch {
            channels.closeSupervisorEnds()
            throw SpawnError(step: .duplicate, error)
        }
        let pid: Int32
        do throws(SystemCallError) {
            pid = try ProcessCalls.spawn(
                executable,
                arguments: [realPath(executable), WorkerBootstrap.workerMarker, "\(getpid())", WorkerBootstrap.titleRoom],
                environment: plan.environmentStrings,
                placing: placements,
                blockSignals: false)
        } catch {
            channels.closeSupervisorEnds()
            throw SpawnError(step: .posixSpawn, errno: error.errno.rawValue, detail: executable)
        }
        let pidfd: FileDescriptor
        do throws(SystemCallError) {
            pidfd = try ProcessCalls.pidfd(for: pid)
        } catch {
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
            channels.closeSupervisorEnds()
            throw SpawnError(step: .pidfdOpen, error)
        }
        return SpawnOutcome(
            pid: pid, pidfd: pidfd, socket: channels.supervisorSocket, output: channels.outputRead, bootstrap: channels.supervisorBootstrap)
    }
}
