/// An event sent to a bus on the other side (either direction).
public struct Emit: Codable, Sendable, Equatable {
    /// Correlation id; the ``EmitResult`` carries the same id.
    public var id: UInt64
    /// The bus the event targets.
    public var scope: Scope
    /// The event's stable wire name.
    public var event: String
    /// The identifier the emit is addressed to, if any.
    public var identifier: String?
    /// The encoded event.
    public var payload: JSONValue

    /// Creates an emit.
    public init(id: UInt64, scope: Scope, event: String, identifier: String? = nil, payload: JSONValue) {
        self.id = id
        self.scope = scope
        self.event = event
        self.identifier = identifier
        self.payload = payload
    }
}

/// The outcome of an ``Emit``: the final envelope payload, whether a handler stopped it, or an error.
public struct EmitResult: Codable, Sendable, Equatable {
    /// The id of the ``Emit`` this answers.
    public var id: UInt64
    /// The payload after every handler ran; absent when the emit failed.
    public var payload: JSONValue?
    /// Whether a handler stopped propagation.
    public var stopped: Bool
    /// Why the emit failed, if it did.
    public var error: WireFailure?
    /// How many handlers ran on the receiving bus (observers not counted); absent when the
    /// receiver does not report it.
    public var handlerCount: Int?
    /// Whether a handler replaced the payload; when false, `payload` is the one that was sent.
    public var payloadReplaced: Bool?

    /// Creates an emit result.
    public init(id: UInt64, payload: JSONValue?, stopped: Bool, error: WireFailure? = nil,
                handlerCount: Int? = nil, payloadReplaced: Bool? = nil) {
        self.id = id
        self.payload = payload
        self.stopped = stopped
        self.error = error
        self.handlerCount = handlerCount
        self.payloadReplaced = payloadReplaced
    }

    private enum CodingKeys: String, CodingKey { case id, payload, stopped, error, handlerCount, payloadReplaced }

    /// Decodes the result; a `payload` of JSON `null` stays ``JSONValue/null``, an absent one is `nil`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(UInt64.self, forKey: .id)
        payload = try container.decodePresentValue(forKey: .payload)
        stopped = try container.decode(Bool.self, forKey: .stopped)
        error = try container.decodeIfPresent(WireFailure.self, forKey: .error)
        handlerCount = try container.decodeIfPresent(Int.self, forKey: .handlerCount)
        payloadReplaced = try container.decodeIfPresent(Bool.self, forKey: .payloadReplaced)
    }
}

/// A request sent to the handlers of a bus on the other side (either direction).
public struct Request: Codable, Sendable, Equatable {
    /// Correlation id; the ``Response`` carries the same id.
    public var id: UInt64
    /// The bus the request targets.
    public var scope: Scope
    /// The request's stable wire name.
    public var name: String
    /// The identifier the request is addressed to, if any.
    public var identifier: String?
    /// The encoded request.
    public var payload: JSONValue
    /// `maybeRequest` semantics: "not wired" and "all conceded" answer with no payload instead of an error.
    public var optional: Bool
    /// How long the sender waits before it gives up, if it set a limit.
    public var timeoutMilliseconds: Int?

    /// Creates a request.
    public init(id: UInt64, scope: Scope, name: String, identifier: String? = nil, payload: JSONValue,
                optional: Bool = false, timeoutMilliseconds: Int? = nil) {
        self.id = id
        self.scope = scope
        self.name = name
        self.identifier = identifier
        self.payload = payload
        self.optional = optional
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// The answer to a ``Request``.
public struct Response: Codable, Sendable, Equatable {
    /// The id of the ``Request`` this answers.
    public var id: UInt64
    /// The answer; `nil` (field absent) means no answer, allowed only for an optional request.
    public var payload: JSONValue?
    /// Why the request failed, if it did.
    public var error: WireFailure?

    /// Creates a response.
    public init(id: UInt64, payload: JSONValue?, error: WireFailure? = nil) {
        self.id = id
        self.payload = payload
        self.error = error
    }

    private enum CodingKeys: String, CodingKey { case id, payload, error }

    /// Decodes the response; a `payload` of JSON `null` stays ``JSONValue/null``, an absent one is `nil`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(UInt64.self, forKey: .id)
        payload = try container.decodePresentValue(forKey: .payload)
        error = try container.decodeIfPresent(WireFailure.self, forKey: .error)
    }
}

/// Asks the other side to abandon an in-flight ``Request`` or ``Emit``.
public struct Cancel: Codable, Sendable, Equatable {
    /// The id of the request or emit to cancel.
    public var id: UInt64

    /// Creates a cancel.
    public init(id: UInt64) { self.id = id }
}

extension KeyedDecodingContainer {
    /// Decodes a value that may be absent; a present JSON `null` is ``JSONValue/null``, not `nil`.
    func decodePresentValue(forKey key: Key) throws -> JSONValue? {
        contains(key) ? try decode(JSONValue.self, forKey: key) : nil
    }
}
