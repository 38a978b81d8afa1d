import CSeccomp
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The host's connection to its zygote. One request is in flight at a time (the zygote is serial);
/// concurrent callers queue on the connection lock.
final class ZygoteClient: Sendable {
    private static let installed = Mutex<ZygoteClient?>(nil)

    /// The zygote started by `WorkerBootstrap.start`, if any.
    static var current: ZygoteClient? { installed.withLock { $0 } }

    static func install(_ client: ZygoteClient) {
        installed.withLock { $0 = client }
    }

    /// The zygote process (a child of the host).
    let process: ProcessHandle

    /// Whether the zygote process is still alive (reaps it once it has died).
    var isAlive: Bool {
        do {
            return try process.reap() == nil
        } catch {
            return false
        }
    }
    private let socket: Mutex<Int32>

    init(socket: Int32, process: ProcessHandle) {
        self.socket = Mutex(socket)
        self.process = process
    }

    /// Sends one encoded request and returns the spawned worker's pid and its four descriptors
    /// (pidfd, session socket, output, reports), or throws the step the zygote reported.
    func spawn(encodedRequest request: [UInt8]) throws(SpawnError) -> (pid: Int32, descriptors: [Int32]) {
        try socket.withLock { (socket) throws(SpawnError) -> (pid: Int32, descriptors: [Int32]) in
            let sent = request.withUnsafeBytes { ps_spawn_send_with_fds(socket, $0.baseAddress, $0.count, nil, 0) }
            if sent < 0 {
                let code = Int32(-sent)
                throw SpawnError(step: code == EPIPE || code == ECONNRESET ? .zygoteUnavailable : .zygoteSend, errno: code)
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            var descriptors = [Int32](repeating: -1, count: ZygoteReply.descriptorCount)
            var count: Int32 = 0
            let received = buffer.withUnsafeMutableBytes {
                ps_spawn_recv_with_fds(socket, $0.baseAddress, $0.count, &descriptors, Int32(descriptors.count), &count)
            }
            if received == 0 { throw SpawnError(step: .zygoteUnavailable, errno: EPIPE) }
            if received < 0 { throw SpawnError(step: .zygoteReceive, errno: Int32(-received)) }
            descriptors = Array(descriptors.prefix(Int(count)))
            let reply: ZygoteReply
            do throws(SpawnError) {
                reply = try ZygoteReply.decode(buffer[0..<received])
            } catch {
                for fd in descriptors { close(fd) }
                throw error
            }
            guard let pid = reply.pid, descriptors.count == ZygoteReply.descriptorCount else {
                for fd in descriptors { close(fd) }
                let step = reply.failedStep.flatMap(SpawnError.Step.init(name:)) ?? .zygoteReply
                throw SpawnError(step: step, errno: reply.errno ?? EPROTO)
            }
            return (pid, descriptors)
        }
    }
}
