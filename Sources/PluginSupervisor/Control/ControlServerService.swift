import ServiceLifecycle

/// A control server and the service answering it, as one swift-service-lifecycle `Service`:
/// serves requests until graceful shutdown (or cancellation), then closes the socket (removing
/// its file if it is still the one the server created) and ends every streaming request
/// (`logs -f`, `events -f`). List it after ``SandboxService`` in the group, so the socket closes
/// before the sessions are disposed.
public struct ControlServerService: Service {
    /// The open control socket.
    public let server: ControlServer
    /// What answers its requests.
    public let service: ControlService

    /// Creates the service.
    public init(server: ControlServer, service: ControlService) {
        self.server = server
        self.service = service
    }

    /// Serves until graceful shutdown or cancellation, then closes.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { [server, service] in
                await server.run { request, _, reply in await service.handle(request, reply: reply) }
            }
            try? await gracefulShutdown()
            await server.close()
            group.cancelAll()
        }
    }
}
