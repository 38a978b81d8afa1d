import CSeccomp
#if canImport(Glibc)
import Glibc
#endif

/// The three channels of one worker (session socket, output pipe, report pipe), both ends.
///
/// Every descriptor is close-on-exec and numbered at least `WorkerChannels.firstFree`, so the child
/// can `dup2` its ends onto 1...4 in any order.
struct WorkerChannels {
    /// The first descriptor number the child does not use for its fixed slots (0 stdin, 1/2 output,
    /// 3 session, 4 report).
    static let firstFree: Int32 = 5
    /// The session socket in the child.
    static let sessionSlot: Int32 = 3
    /// The report pipe's write end in the child.
    static let reportSlot: Int32 = 4

    var supervisorSocket: Int32
    var childSocket: Int32
    var outputRead: Int32
    var outputWrite: Int32
    var reportRead: Int32
    var reportWrite: Int32

    static func create() throws(SpawnError) -> WorkerChannels {
        var created: [Int32] = []
        do throws(SpawnError) {
            var pair: [Int32] = [-1, -1]
            try SpawnSyscall.call(.socketpair) {
                socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair)
            }
            created += pair
            var output: [Int32] = [-1, -1]
            try SpawnSyscall.shim(.pipe, ps_spawn_pipe_cloexec(&output))
            created += output
            var report: [Int32] = [-1, -1]
            try SpawnSyscall.shim(.pipe, ps_spawn_pipe_cloexec(&report))
            created += report
            for index in created.indices {
                let fd = created[index]
                created[index] = -1  // lift closes `fd` itself when it fails
                created[index] = try SpawnSyscall.lift(fd, above: firstFree)
            }
        } catch {
            for fd in created where fd >= 0 { close(fd) }
            throw error
        }
        return WorkerChannels(
            supervisorSocket: created[0], childSocket: created[1],
            outputRead: created[2], outputWrite: created[3],
            reportRead: created[4], reportWrite: created[5]
        )
    }

    /// The ends the worker keeps.
    var childEnds: [Int32] { [childSocket, outputWrite, reportWrite] }
    /// The ends handed back to the supervisor.
    var supervisorEnds: [Int32] { [supervisorSocket, outputRead, reportRead] }

    func closeChildEnds() {
        for fd in childEnds { close(fd) }
    }

    func closeSupervisorEnds() {
        for fd in supervisorEnds { close(fd) }
    }
}
