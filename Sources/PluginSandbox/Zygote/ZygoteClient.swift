import PluginSystem
import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The host's handle on its main zygote: the process and the host's end of its socket (used only
/// by the ``SpawnDispatcher`` thread).
final class ZygoteClient: Sendable {
    private static let installed = Mutex<ZygoteClient?>(nil)

    /// The zygote started by `WorkerBootstrap.start`, if any.
    static var current: ZygoteClient? { installed.withLock { $0 } }

    static func install(_ client: ZygoteClient) {
        installed.withLock { $0 = client }
    }

    /// The zygote process (a child of the host).
    let process: ProcessHandle
    /// The host's end of the zygote socket (SOCK_SEQPACKET).
    let socket: FileDescriptor

    init(socket: FileDescriptor, process: ProcessHandle) {
        self.socket = socket
        self.process = process
    }

    /// Whether the zygote process is still alive (reaps it once it has died).
    var isAlive: Bool {
        do {
            return try process.reap() == nil
        } catch {
            return false
        }
    }
}

/// Starts the main zygote from the host: `posix_spawn` of the host's own executable with the
/// zygote marker, the host's pid, room for a title, and an environment of one variable.
enum ZygoteLauncher {
    /// Starts the zygote if this process is single-threaded and none runs yet; does nothing otherwise
    /// (spawners then use exec mode). Runs on the host's main thread, so the zygote's parent-death
    /// signal is tied to it.
    static func launch() {
        guard ZygoteClient.current == nil, (try? ProcessCalls.threadCount()) == 1 else { return }
        guard let (hostEnd, zygoteEnd) = try? FileDescriptor.socketPair(sequenced: true) else { return }
        var temporary: [FileDescriptor] = [zygoteEnd]
        defer { for descriptor in temporary { descriptor.closeAfterUse() } }
        do {
            let devNull = try FileDescriptor.open("/dev/null", .readWrite, options: .closeOnExec)
            temporary.append(devNull)
            // Sources above every slot (3), so no placement overwrites another source.
            let sources = try [devNull, FileDescriptor.standardError, zygoteEnd].map { (descriptor) throws(SystemCallError) in
                try ProcessCalls.duplicate(descriptor, atLeast: 4)
            }
            temporary += sources
            let executable = "/proc/self/exe"
            let pid = try ProcessCalls.spawn(
                executable,
                arguments: [realPath(executable), WorkerBootstrap.zygoteMarker, "\(getpid())", WorkerBootstrap.titleRoom],
                environment: ["SWIFT_BACKTRACE=enable=no"],
                placing: [(sources[0], 1), (sources[1], 2), (sources[2], MainZygote.socketSlot)],
                blockSignals: true)
            let pidfd: FileDescriptor
            do {
                pidfd = try ProcessCalls.pidfd(for: pid)
            } catch {
                kill(pid, SIGKILL)
                _ = waitpid(pid, nil, 0)
                throw error
            }
            ZygoteClient.install(ZygoteClient(socket: hostEnd, process: ProcessHandle(pid: pid, pidfd: pidfd)))
        } catch {
            hostEnd.closeAfterUse()
        }
    }
}

/// The canonical path of `path`, or `path` itself when it cannot be resolved.
func realPath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}
