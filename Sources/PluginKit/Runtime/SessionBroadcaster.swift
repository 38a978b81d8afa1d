import Synchronization

/// How one session took a broadcast.
public enum SessionDelivery<Event: Sendable>: Sendable {
    /// Every handler ran; the final envelope.
    case delivered(EventEnvelope<Event>)
    /// A handler stopped the cascade; the final envelope.
    case stopped(EventEnvelope<Event>)
    /// The session failed to take it (a handler threw, or the session is dead: the host's error says which).
    case failed(any Error)

    /// The final envelope, when the session took the event.
    public var envelope: EventEnvelope<Event>? {
        switch self {
        case .delivered(let envelope), .stopped(let envelope): return envelope
        case .failed: return nil
        }
    }
}

/// A host that delivers one event to many of its sessions at once (a process bridge encodes the
/// event once and writes the same bytes to every worker). The runtime's broadcasts use it for the
/// sessions of that host.
public protocol BroadcastingSessionHost: SessionHost {
    /// Emits `event` into each of `sessions` (all of this host's) in parallel; one entry per session.
    func broadcast<E: WireEvent>(_ event: E, identifier: String?, to sessions: [any SessionHandle]) async -> [SessionID: SessionDelivery<E>]
}

/// `context.sessions` of a global plugin: the live sessions, and broadcasts to all of them.
public final class SessionBroadcaster: Sendable {
    private let handles = Mutex<[SessionID: any SessionHandle]>([:])
    private let host: (any BroadcastingSessionHost)?

    init(host: any SessionHost) {
        self.host = host as? any BroadcastingSessionHost
    }

    func add(_ handle: any SessionHandle) { handles.withLock { $0[handle.id] = handle } }
    func remove(_ id: SessionID) { _ = handles.withLock { $0.removeValue(forKey: id) } }
    var all: [any SessionHandle] { handles.withLock { $0.values.sorted { $0.id < $1.id } } }
    func handle(_ id: SessionID) -> (any SessionHandle)? { handles.withLock { $0[id] } }

    /// The ids of the live sessions.
    public var ids: [SessionID] { all.map(\.id) }

    /// Emits `event` into every live session's bus in parallel; completes when every session
    /// answered or failed, with one entry per session. One session failing fails only its entry.
    public func emit<E: WireEvent>(_ event: E, identifier: String? = nil) async -> [SessionID: SessionDelivery<E>] {
        let targets = all
        if let host { return await host.broadcast(event, identifier: identifier, to: targets) }
        return await withTaskGroup(of: (SessionID, SessionDelivery<E>).self) { group in
            for handle in targets {
                group.addTask {
                    do {
                        let envelope = try await handle.emit(event, identifier: identifier)
                        return (handle.id, envelope.isStopped ? .stopped(envelope) : .delivered(envelope))
                    } catch {
                        return (handle.id, .failed(error))
                    }
                }
            }
            var results: [SessionID: SessionDelivery<E>] = [:]
            for await (id, delivery) in group { results[id] = delivery }
            return results
        }
    }
}
