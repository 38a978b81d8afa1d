import Dispatch
import Foundation
import PluginKit
import PluginSandbox
import PluginWire

/// The entry point of a session's worker process, called by the host's `WorkerBootstrap` once
/// the process is confined.
///
/// It greets the supervisor, builds the session scope from `catalog` when the welcome arrives,
/// and serves the session until it is disposed or the supervisor goes away; it never returns.
public enum WorkerMain {
    /// The exit code of a worker whose session socket failed under it (not closed by the supervisor).
    public static let lostSocketExitCode: Int32 = 70

    /// Runs the worker for `context` with the session plugins of `catalog`; `contextFactory`
    /// builds the session context's host-specific values inside the worker.
    public static func run(
        _ context: WorkerContext,
        catalog: SessionPluginCatalog,
        contextFactory: @escaping @Sendable (SessionID) -> ContextValues = { _ in ContextValues() }
    ) -> Never {
        let channel = WorkerChannel(socket: InheritedSocket(descriptor: context.socket))
        let session = WorkerSession(context: context, catalog: catalog, channel: channel, contextFactory: contextFactory)
        channel.startReading(
            onMessage: { session.receive($0) },
            onEnd: { end in
                FileHandle.standardError.write(Data("worker \(context.sessionID ?? "(spare)"): \(end.reason)\n".utf8))
                // The supervisor hanging up ends the session normally; losing the socket any other
                // way (plugin code closed it, garbage arrived) is a failure the supervisor must see.
                exit(end.supervisorClosed ? 0 : lostSocketExitCode)
            })
        session.greet()
        dispatchMain()
    }
}
