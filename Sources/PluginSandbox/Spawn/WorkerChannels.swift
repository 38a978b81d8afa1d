import PluginSystem
import SystemPackage

/// The three channels of one worker, both ends: the session socket, the output pipe (stdout and
/// stderr), and the one-shot bootstrap channel.
///
/// Every descriptor is close-on-exec and numbered at least ``Slot/firstFree``, so the child can
/// place its ends onto the fixed slots in any order without clobbering a source.
struct WorkerChannels {
    /// Where a worker finds its descriptors.
    enum Slot {
        /// The session socket.
        static let session: Int32 = 3
        /// The worker end of the bootstrap channel, closed before any plugin code runs.
        static let bootstrap: Int32 = 4
        /// Where a forked worker finds its profile zygote's Landlock ruleset (closed once applied).
        static let extra: Int32 = 5
        /// The sealed copy of the worker's first plugin library; the others follow it, up to
        /// ``firstFree``.
        static let firstLibrary: Int32 = 6
        /// The first descriptor no slot uses; an exec'd worker receives its join descriptors from here.
        static let firstFree: Int32 = 10
    }

    /// The capacity of the output pipe.
    static let outputCapacity = 64 * 1024

    let supervisorSocket: FileDescriptor
    let workerSocket: FileDescriptor
    let outputRead: FileDescriptor
    let outputWrite: FileDescriptor
    let supervisorBootstrap: FileDescriptor
    let workerBootstrap: FileDescriptor

    static func create() throws(SpawnError) -> WorkerChannels {
        var created: [FileDescriptor] = []
        do throws(SpawnError) {
            let (session, sessionPeer) = try SpawnError.during(.socketpair) { () throws(SystemCallError) in try FileDescriptor.socketPair() }
            created += [session, sessionPeer]
            let output = try SpawnError.during(.pipe) { () throws(SystemCallError) in try FileDescriptor.closeOnExecPipe() }
            created += [output.read, output.write]
            _ = try SpawnError.during(.pipe) { () throws(SystemCallError) in try output.write.setPipeCapacity(outputCapacity) }
            let (bootstrap, bootstrapPeer) = try SpawnError.during(.socketpair) { () throws(SystemCallError) in
                try FileDescriptor.socketPair(sequenced: true)
            }
            created += [bootstrap, bootstrapPeer]
            try SpawnError.during(.socketpair) { () throws(SystemCallError) in try bootstrap.setNonBlocking() }
            for index in created.indices where created[index].rawValue < Slot.firstFree {
                let low = created[index]
                created[index] = try SpawnError.during(.duplicate) { () throws(SystemCallError) in
                    try ProcessCalls.duplicate(low, atLeast: Slot.firstFree)
                }
                low.closeAfterUse()
            }
        } catch {
            for descriptor in created { descriptor.closeAfterUse() }
            throw error
        }
        return WorkerChannels(
            supervisorSocket: created[0], workerSocket: created[1], outputRead: created[2], outputWrite: created[3],
            supervisorBootstrap: created[4], workerBootstrap: created[5])
    }

    /// The ends the worker keeps.
    var workerEnds: [FileDescriptor] { [workerSocket, outputWrite, workerBootstrap] }
    /// The ends handed to the supervisor.
    var supervisorEnds: [FileDescriptor] { [supervisorSocket, outputRead, supervisorBootstrap] }

    func closeWorkerEnds() {
        for descriptor in workerEnds { descriptor.closeAfterUse() }
    }

    func closeSupervisorEnds() {
        for descriptor in supervisorEnds { descriptor.closeAfterUse() }
    }
}
