@_spi(SessionHost) import PluginKit
import PluginWire
import Synchronization

/// A bus's wire event and request types by wire name, learned from the bus itself, so JSON
/// payloads that arrive by name are decoded, dispatched and answered.
///
/// The registry learns a type when a handler subscribes to it on the bus (and at once for
/// types subscribed before the registry existed). A payload that arrives under a name nobody
/// subscribed reaches the bus's `bind` observers only, as an ``UnknownWireEvent``.
public final class WireRegistry: Sendable {
    private struct Types {
        var events: [String: any WireEvent.Type] = [:]
        var requests: [String: any WireRequest.Type] = [:]
    }

    /// The bus the registry serves.
    public let bus: EventBus
    private let types = Mutex(Types())

    /// A registry for `bus`.
    public init(bus: EventBus) {
        self.bus = bus
        bus.observeSubscribedTypes { [weak self] type in self?.learn(type) }
    }

    /// The wire names of the event types subscribed on the bus.
    public var eventNames: [String] { types.withLock { $0.events.keys.sorted() } }
    /// The wire names of the request types answered on the bus.
    public var requestNames: [String] { types.withLock { $0.requests.keys.sorted() } }

    /// Emits the event named `name` with a JSON `payload`, as coming from `origin`; returns the
    /// final JSON payload (the bytes given when no handler replaced the payload).
    /// - Throws: ``WirePayloadError`` when the payload does not decode as the named type,
    ///   `BusDisposed`, or a handler's error.
    public func emit(name: String, payload: RawJSON, identifier: String?, origin: EventOrigin) async throws -> EncodedEnvelope {
        guard let type = types.withLock({ $0.events[name] }) else {
            let envelope = try await bus.emit(UnknownWireEvent(name: name, payload: payload), identifier: identifier, origin: origin)
            return EncodedEnvelope(payload: payload, stopped: envelope.isStopped, handlerCount: envelope.handlerCount, isPayloadReplaced: false)
        }
        let event = try Self.decode(type, from: payload, name: name)
        let envelope = try await bus.emit(erased: event, identifier: identifier, origin: origin)
        let final = envelope.isPayloadReplaced ? try RawJSON(encoding: envelope.payload) : payload
        return EncodedEnvelope(payload: final, stopped: envelope.isStopped, handlerCount: envelope.handlerCount,
                               isPayloadReplaced: envelope.isPayloadReplaced)
    }

    /// Sends the request named `name` with a JSON `payload`, as coming from `origin`; returns the
    /// JSON answer.
    /// - Throws: `RequestNotWired` for a name nobody answers, `AllConceded`, ``WirePayloadError``,
    ///   `BusDisposed`, or a handler's error.
    public func request(name: String, payload: RawJSON, identifier: String?, origin: EventOrigin) async throws -> RawJSON {
        guard let type = types.withLock({ $0.requests[name] }) else {
            if bus.isDisposed { throw BusDisposed(bus: bus.label) }
            throw RequestNotWired(request: name, identifier: identifier)
        }
        let request = try Self.decode(type, from: payload, name: name)
        let answer = try await bus.request(erased: request, identifier: identifier, origin: origin)
        return try RawJSON(encoding: answer)
    }

    private func learn(_ type: SubscribedType) {
        switch type {
        case .event(let event):
            let name = event.wireName
            types.withLock { $0.events[name] = event }
        case .request(let request):
            let name = request.wireName
            types.withLock { $0.requests[name] = request }
        case .other(let type):
            // Subscribed through code generic over `Sendable` only: learn it the slow way.
            if let event = type as? any WireEvent.Type { learn(.event(event)) }
            if let request = type as? any WireRequest.Type { learn(.request(request)) }
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, from payload: RawJSON, name: String) throws -> T {
        do {
            return try payload.decode(T.self)
        } catch {
            throw WirePayloadError(name: name, reason: "\(error)")
        }
    }
}

/// The final state of an emit whose payload is JSON, as a process bridge sees it.
public struct EncodedEnvelope: Sendable, Equatable {
    /// The final payload.
    public var payload: RawJSON
    /// Whether a handler stopped the cascade.
    public var stopped: Bool
    /// How many handlers ran (observers not counted).
    public var handlerCount: Int
    /// Whether a handler replaced the payload; when false, ``payload`` is the bytes that came in.
    public var isPayloadReplaced: Bool

    /// Creates an envelope.
    public init(payload: RawJSON, stopped: Bool, handlerCount: Int, isPayloadReplaced: Bool) {
        self.payload = payload
        self.stopped = stopped
        self.handlerCount = handlerCount
        self.isPayloadReplaced = isPayloadReplaced
    }
}

/// An event that arrived by wire name with no handler type known here; `bind` observers see it.
public struct UnknownWireEvent: Sendable, Equatable {
    /// The wire name.
    public let name: String
    /// The payload.
    public let payload: RawJSON

    /// Creates the event.
    public init(name: String, payload: RawJSON) {
        self.name = name
        self.payload = payload
    }
}

/// A payload that arrived as JSON could not be decoded as the event or request type registered
/// under its wire name.
public struct WirePayloadError: Error, Sendable, CustomStringConvertible {
    /// The wire name.
    public let name: String
    /// What the decoder said.
    public let reason: String

    public var description: String { "payload of \(name) does not decode: \(reason)" }
}
