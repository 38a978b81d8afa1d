#if canImport(Glibc)
import Glibc
#endif
import CDescriptorCalls
import Foundation
import PluginKit
import PluginSandbox
import PluginWire
import SystemPackage

/// The entry point of a session's worker process, called by the bootstrap once the process is
/// confined. It never returns: the session ends with the process.
///
/// Two threads: the main thread runs every job of the session (its executor), a reader
/// thread answers heartbeats. Output is line-buffered, so a plugin's `print` reaches the session's
/// log as it happens and survives a crash.
public enum WorkerRuntime {
    /// The exit code of a worker whose session socket failed under it (not closed by the supervisor).
    public static let lostSocketExitCode: Int32 = 70
    /// The exit code of a worker that could not start its threads.
    public static let startFailureExitCode: Int32 = 71

    /// Runs the worker for `context` with the session plugins of `catalog`; `contextFactory`
    /// builds the session context's host-specific values inside the worker.
    public static func run(
        _ context: WorkerContext,
        catalog: SessionPluginCatalog,
        contextFactory: @escaping @Sendable (SessionID) -> ContextValues = { _ in ContextValues() }
    ) -> Never {
        // stdout line-buffered, stderr unbuffered: a `print` reaches the session's log when its line
        // ends, and survives a crash.
        psd_line_buffer_stdio()
        ProcessTitle.set(context.sessionID.map { "sandbox-worker \($0)" } ?? "sandbox-worker (spare)")
        let executor: WorkerExecutor
        do {
            executor = try WorkerExecutor()
        } catch {
            FileHandle.standardError.write(Data("worker: \(error)\n".utf8))
            exit(startFailureExitCode)
        }
        WorkerExecutor.installAsGlobal(executor)
        let connection = WorkerConnection(socket: context.socket)
        let session = WorkerSession(context: context, catalog: catalog, connection: connection, contextFactory: contextFactory)
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
        executor.start { await session.serve(messages) }
        session.greet()
        executor.runForever()
    }
}

/// What a worker says it was built from, in its hello (a claim, for diagnostics).
enum WorkerBuild {
    static let fingerprint = "PluginSandbox protocol \(ProtocolVersion.current)"
}

