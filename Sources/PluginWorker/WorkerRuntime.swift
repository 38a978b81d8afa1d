#if canImport(Glibc)
import Glibc
#endif
import CDescriptorCalls
import Foundation
import Logging
import PluginBridge
import PluginKit
import PluginSandbox
import PluginWire
import SystemPackage

/// The entry point of a session's worker process, called by the bootstrap once the process is
/// confined. It never returns: the session ends with the process.
///
/// Two working threads: a session thread runs every job of the session (its executor), a reader
/// thread answers heartbeats; the main thread only waits (see the note in ``run(_:catalog:contextFactory:)``). Output is line-buffered, so a plugin's `print` reaches the session's
/// log as it happens and survives a crash.
public enum WorkerRuntime {
    /// The exit code of a worker whose session socket failed under it (not closed by the supervisor).
    public static let lostSocketExitCode: Int32 = 70
    /// The exit code of a worker that could not start its threads.
    public static let startFailureExitCode: Int32 = 71
    /// The exit code of a worker that could not load one of its plugin libraries (it reported why).
    public static let libraryLoadFailureExitCode: Int32 = 72

    /// Runs the worker for `context` with the session plugins of `catalog` and the plugin libraries
    /// of `context`; `contextFactory` builds the session context's host-specific values inside the
    /// worker.
    public static func run(
        _ context: WorkerContext,
        catalog: SessionPluginCatalog,
        contextFactory: @escaping @Sendable (SessionID) -> ContextValues = { _ in ContextValues() }
    ) -> Never {
        // stdout line-buffered, stderr unbuffered: a `print` reaches the session's log when its line
        // ends, and survives a crash.
        psd_line_buffer_stdio()
        ProcessTitle.set(context.sessionID.map { "sandbox-worker \($0)" } ?? "sandbox-worker (spare)")
        // A forked worker's main thread still has the zygote's thread id in the Swift runtime's
        // per-thread cache (`_swift_stdlib_gettid` keeps it in a thread-local, which `fork`
        // copies). A `Mutex` that thread holds names the wrong owner, and when another thread
        // contends for it the kernel's priority-inheritance futex fails and the Mutex traps
        // ("Unknown error occurred while attempting to acquire a Mutex"). So the session runs on
        // a thread made here, which caches its own id, and the main thread only waits.
        let session = WorkerThread(stackSize: sessionThreadStackSize) {
            serve(context, catalog: catalog, contextFactory: contextFactory)
        }
        guard let handle = session.start() else {
            FileHandle.standardError.write(Data("worker: could not start the session thread\n".utf8))
            exit(startFailureExitCode)
        }
        pthread_join(handle, nil)
        exit(startFailureExitCode)
    }

    /// The stack of the thread that runs the session's jobs (a main thread's usual 8 MiB).
    static let sessionThreadStackSize = 8 << 20

    private static func serve(
        _ context: WorkerContext,
        catalog: SessionPluginCatalog,
        contextFactory: @escaping @Sendable (SessionID) -> ContextValues
    ) -> Never {
        let executor: WorkerExecutor
        do {
            executor = try WorkerExecutor()
        } catch {
            FileHandle.standardError.write(Data("worker: \(error)\n".utf8))
            exit(startFailureExitCode)
        }
        WorkerExecutor.installAsGlobal(executor)
        let connection = WorkerConnection(socket: context.socket)
        let logger = Logger(label: "plugin") { _ in WireLogHandler(connection: connection) }
        let own = ScopeServer(catalog: catalog, globalBus: WireGlobalBus(connection: connection), logger: logger, contextFactory: contextFactory)
        var offered = own.pluginIDs
        var responder: any SessionResponder = own
        if !context.libraries.isEmpty {
            switch LibraryLoader.load(context.libraries, offered: offered, connection: connection) {
            case .failure(let failure):
                // The supervisor ends the session with this report as its cause (pluginLoadFailed).
                connection.send(.error(WireFailure(code: .startFailed, message: "\(failure)", details: ["pluginLibrary": failure.path])))
                FileHandle.standardError.write(Data("worker: \(failure)\n".utf8))
                exit(libraryLoadFailureExitCode)
            case .success(let links):
                offered += links.flatMap(\.plugins)
                responder = SessionScopes(own: own, libraries: links)
            }
        }
        let endpoint = SessionEndpoint(responder: responder, channel: connection, inFlight: connection.inFlight,
                                       hooks: hooks(for: context))
        let (messages, input) = AsyncStream<WireMessage>.makeStream(bufferingPolicy: .unbounded)
        let reading = connection.startReading(
            maximumFrameLength: WireLimits.defaultMaximumFrameLength,
            onMessage: { input.yield($0) },
            onEnd: { end in
                FileHandle.standardError.write(Data("worker \(context.sessionID ?? "(spare)"): \(end.reason)\n".utf8))
                // The supervisor hanging up ends the session normally; losing the socket any other
                // way (plugin code closed it, garbage arrived) is a failure the supervisor must see.
                exit(end.supervisorClosed ? 0 : lostSocketExitCode)
            })
        guard reading else {
            FileHandle.standardError.write(Data("worker: could not start the socket reader thread\n".utf8))
            exit(startFailureExitCode)
        }
        executor.start { await endpoint.serve(messages) }
        connection.send(.hello(Hello(pid: getpid(), plugins: offered, build: WorkerBuild.fingerprint)))
        executor.runForever()
    }

    /// What a worker does at the turns of its session: it checks the welcome against the session it
    /// was spawned for, and exits when the session cannot start, is disposed, or is refused.
    private static func hooks(for context: WorkerContext) -> SessionEndpoint.Hooks {
        SessionEndpoint.Hooks(
            welcomed: { welcome in
                do {
                    try ProtocolVersion.check(remote: welcome.protocolVersion)
                } catch {
                    FileHandle.standardError.write(Data("\(error)\n".utf8))
                    exit(2)
                }
                if let expected = context.sessionID, expected != welcome.sessionID {
                    FileHandle.standardError.write(Data("welcome names session \(welcome.sessionID), this worker was spawned for \(expected)\n".utf8))
                    exit(2)
                }
                ProcessTitle.set("sandbox-worker \(welcome.sessionID)")
                return nil
            },
            startFailed: { reason in
                FileHandle.standardError.write(Data("session could not start: \(reason)\n".utf8))
                exit(3)
            },
            disposed: { exit(0) },
            refused: { failure in
                FileHandle.standardError.write(Data("the supervisor refused this worker: \(failure.message)\n".utf8))
                exit(2)
            })
    }
}

/// What a worker says it was built from, in its hello (a claim, for diagnostics).
enum WorkerBuild {
    static let fingerprint = "PluginSandbox protocol \(ProtocolVersion.current)"
}
