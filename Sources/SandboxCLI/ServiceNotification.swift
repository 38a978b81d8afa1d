import Foundation
import Logging
import PluginSystem
import SystemPackage
import ServiceLifecycle

/// The systemd notification protocol (`sd_notify`): one datagram of `KEY=value` lines to the
/// Unix socket `$NOTIFY_SOCKET` names (a leading `@` is an abstract socket). Without the
/// variable (not started by systemd with `Type=notify`) nothing is sent.
struct ServiceNotification: Sendable {
    /// The socket from the environment, if any.
    let socket: String?
    let logger: Logger

    init(environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) {
        socket = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        self.logger = logger
    }

    /// Sends `state` (`READY=1`, `STOPPING=1`, `STATUS=...`); a failure is logged, never fatal.
    func send(_ state: String) {
        guard let socket else { return }
        do {
            try FileDescriptor.sendUnixDatagram(Array(state.utf8), to: socket)
        } catch {
            logger.warning("could not notify the service manager", metadata: ["socket": "\(socket)", "error": "\(error)"])
        }
    }
}

/// Tells the service manager the supervisor is ready when the group starts (the control socket
/// is open by then), and that it is stopping when graceful shutdown begins. Listed last in the
/// group, it is the first to hear of the shutdown.
struct ReadinessService: Service {
    let notification: ServiceNotification
    let status: String

    func run() async {
        notification.send("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())")
        try? await gracefulShutdown()
        notification.send("STOPPING=1\nSTATUS=disposing every session")
    }
}
