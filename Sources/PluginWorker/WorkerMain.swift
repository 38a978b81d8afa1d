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
    /// Runs the worker for `context` with the session plugins of `catalog`.
    public static func run(_ context: WorkerContext, catalog: SessionPluginCatalog) -> Never {
        let channel = WorkerChannel(socket: InheritedSocket(descriptor: context.socket))
        let session = WorkerSession(context: context, catalog: catalog, channel: channel)
        channel.startReading(
            onMessage: { session.receive($0) },
            onEnd: { reason in
                // Without its supervisor a session has nothing left to do.
                FileHandle.standardError.write(Data("worker \(context.sessionID): \(reason)\n".utf8))
                exit(0)
            })
        session.greet()
        dispatchMain()
    }
}
