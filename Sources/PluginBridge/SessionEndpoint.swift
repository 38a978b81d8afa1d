import PluginWire

/// The session side of a session channel: takes the welcome, then serves emits, requests,
/// settings, cancels and the dispose, each call as a child task of one task group, answered by a
/// ``SessionResponder``. A worker serves its socket with one; a plugin library serves its link to
/// the worker with another.
///
/// What differs between the two (a worker exits, checks the session it was spawned for, shows a
/// process title) comes in through ``Hooks``. Everything runs on one executor thread, one job at a
/// time, so the endpoint needs no lock.
public final class SessionEndpoint: @unchecked Sendable {
    // @unchecked: `phase` is read and written only by `serve` and its child tasks, which all run on
    // the one executor of the process that serves the session (a worker's main thread).

    /// What the owner does at the turns of the session.
    public struct Hooks: Sendable {
        /// The welcome arrived: nil to start the session, or why it must not (the endpoint then
        /// sends nothing more; the hook has dealt with it, for example by exiting).
        public var welcomed: @Sendable (Welcome) -> String?
        /// The session could not start; the `startFailed` error has been sent.
        public var startFailed: @Sendable (String) -> Void
        /// The session was disposed and `bye` has been sent.
        public var disposed: @Sendable () -> Void
        /// The other side sent an `error` not tied to a call (it refuses this side).
        public var refused: @Sendable (WireFailure) -> Void

        /// Creates hooks; the defaults do nothing.
        public init(
            welcomed: @escaping @Sendable (Welcome) -> String? = { _ in nil },
            startFailed: @escaping @Sendable (String) -> Void = { _ in },
            disposed: @escaping @Sendable () -> Void = {},
            refused: @escaping @Sendable (WireFailure) -> Void = { _ in }
        ) {
            self.welcomed = welcomed
            self.startFailed = startFailed
            self.disposed = disposed
            self.refused = refused
        }
    }

    private enum Phase {
        case greeting
        case building
        case running
        case disposing
    }

    private let responder: any SessionResponder
    private let channel: any WireChannel
    private let hooks: Hooks
    /// The calls running now, for cancels and heartbeats.
    public let inFlight: InFlightTable
    private var phase = Phase.greeting

    /// An endpoint answering with `responder` over `channel`.
    public init(responder: any SessionResponder, channel: any WireChannel, inFlight: InFlightTable = InFlightTable(), hooks: Hooks) {
        self.responder = responder
        self.channel = channel
        self.inFlight = inFlight
        self.hooks = hooks
    }

    /// Serves messages until the stream ends; each call runs as a child task.
    public func serve(_ messages: AsyncStream<WireMessage>) async {
        await withDiscardingTaskGroup { group in
            for await message in messages {
                receive(message, in: &group)
            }
        }
    }

    private func receive(_ message: WireMessage, in group: inout DiscardingTaskGroup) {
        switch message {
        case .welcome(let welcome):
            accept(welcome, in: &group)
        case .emit(let emit):
            run(emit.id, what: emit.event, in: &group) { responder in .emitResult(await responder.answer(emit)) }
        case .request(let request):
            run(request.id, what: request.name, in: &group) { responder in .response(await responder.answer(request)) }
        case .settings(let update):
            run(update.id, what: "settings", in: &group) { responder in .settingsResult(await responder.reconcile(update)) }
        case .cancel(let cancel):
            inFlight.cancel(cancel.id)
        case .dispose:
            dispose(in: &group)
        case .error(let failure):
            hooks.refused(failure)
        default:
            channel.send(.error(WireFailure(code: .protocolBreach, message: "a session does not accept \(message.kind)")))
        }
    }

    private func accept(_ welcome: Welcome, in group: inout DiscardingTaskGroup) {
        guard case .greeting = phase else {
            channel.send(.error(WireFailure(code: .protocolBreach, message: "welcome arrived twice")))
            return
        }
        if hooks.welcomed(welcome) != nil { return }
        phase = .building
        group.addTask { [responder, channel, hooks] in
            do {
                let ready = try await responder.start(welcome)
                self.phase = .running
                channel.send(.ready(ready))
            } catch {
                // The other side fails the session's start with this report.
                channel.send(.error(WireFailure(code: .startFailed, message: "\(error)")))
                hooks.startFailed("\(error)")
            }
        }
    }

    /// Runs the answer to call `id` as a child task, registered for cancels and heartbeats.
    private func run(_ id: UInt64, what: String, in group: inout DiscardingTaskGroup,
                     _ answer: @escaping @Sendable (any SessionResponder) async -> WireMessage) {
        guard case .running = phase else {
            channel.send(.error(WireFailure(code: .protocolBreach, message: "\(what) arrived before the session was ready")))
            return
        }
        group.addTask { [inFlight, responder, channel] in
            await inFlight.running(id, what: what) {
                channel.send(await answer(responder))
            }
        }
    }

    private func dispose(in group: inout DiscardingTaskGroup) {
        phase = .disposing
        group.addTask { [responder, channel, hooks] in
            let reason = await responder.dispose()
            channel.send(.bye(Bye(reason: reason)))
            hooks.disposed()
        }
    }
}
