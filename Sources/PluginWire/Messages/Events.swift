/// An event sent to a bus on the other side (either direction).
public struct Emit: Sendable, Equatable {
    /// Correlation id; the ``EmitResult`` carries the same id.
    public var id: UInt64
    /// The bus the event targets.
    public var scope: Scope
    /// The event's stable wire name.
    public var event: String
    /// The identifier the emit is addressed to, if any.
    public var identifier: String?
    /// The encoded event.
    public var payload: RawJSON

    /// Creates an emit.
    public init(id: UInt64, scope: Scope, event: String, identifier: String? = nil, payload: RawJSON) {
        self.id = id
        self.scope = scope
        self.event = event
        self.identifier = identifier
        self.payload = payload
    }
}

/// The outcome of an ``Emit``: how many handlers ran, whether one stopped it, the final payload
/// when it changed, or an error.
public struct EmitResult: Sendable, Equatable {
    /// The id of the ``Emit`` this answers.
    public var id: UInt64
    /// How many handlers ran.
    public var handled: Int
    /// Whether a handler stopped propagation.
    public var stopped: Bool
    /// The payload after every handler ran; `nil` (field absent) means unchanged: the receiver
    /// keeps the payload it sent.
    public var payload: RawJSON?
    /// Why the emit failed, if it did.
    public var error: WireFailure?

    /// Creates an emit result.
    public init(id: UInt64, handled: Int, stopped: Bool, payload: RawJSON? = nil, error: WireFailure? = nil) {
        self.id = id
        self.handled = handled
        self.stopped = stopped
        self.payload = payload
        self.error = error
    }
}

/// A request sent to the handlers of a bus on the other side (either direction).
public struct Request: Sendable, Equatable {
    /// Correlation id; the ``Response`` carries the same id.
    public var id: UInt64
    /// The bus the request targets.
    public var scope: Scope
    /// The request's stable wire name.
    public var name: String
    /// The identifier the request is addressed to, if any.
    public var identifier: String?
    /// The encoded request.
    public var payload: RawJSON
    /// `maybeRequest` semantics: "not wired" and "all conceded" answer with no payload instead of an error.
    public var optional: Bool
    /// How long the sender waits before it gives up, if it set a limit.
    public var timeoutMilliseconds: Int?

    /// Creates a request.
    public init(id: UInt64, scope: Scope, name: String, identifier: String? = nil, payload: RawJSON,
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
public struct Response: Sendable, Equatable {
    /// The id of the ``Request`` this answers.
    public var id: UInt64
    /// The answer; `nil` (field absent) means no answer, allowed only for an optional request.
    /// A JSON `null` answer is ``RawJSON/null``.
    public var payload: RawJSON?
    /// Why the request failed, if it did.
    public var error: WireFailure?

    /// Creates a response.
    public init(id: UInt64, payload: RawJSON?, error: WireFailure? = nil) {
        self.id = id
        self.payload = payload
        self.error = error
    }
}

/// Asks the other side to abandon an in-flight ``Request`` or ``Emit``.
public struct Cancel: Sendable, Equatable {
    /// The id of the request or emit to cancel.
    public var id: UInt64

    /// Creates a cancel.
    public init(id: UInt64) { self.id = id }
}
