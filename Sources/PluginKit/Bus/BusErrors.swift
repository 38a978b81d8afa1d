/// No handler is registered for a request type (and identifier).
public struct RequestNotWired: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request's name.
    public let request: String
    /// The identifier it was sent with.
    public let identifier: String?

    /// Creates the error.
    public init(request: String, identifier: String?) {
        self.request = request
        self.identifier = identifier
    }

    public var description: String {
        "no handler answers request \(request)" + (identifier.map { " with identifier '\($0)'" } ?? "")
    }
}

/// Every handler of a request returned nil.
public struct AllConceded: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request's name.
    public let request: String
    /// The identifier it was sent with.
    public let identifier: String?

    /// Creates the error.
    public init(request: String, identifier: String?) {
        self.request = request
        self.identifier = identifier
    }

    public var description: String {
        "every handler of request \(request) conceded" + (identifier.map { " (identifier '\($0)')" } ?? "")
    }
}

/// The bus was disposed: it takes no more emits or requests.
public struct BusDisposed: Error, Sendable, Equatable, CustomStringConvertible {
    /// The disposed bus's label (`global`, or the session id).
    public let bus: String

    /// Creates the error.
    public init(bus: String) {
        self.bus = bus
    }

    public var description: String { "the event bus '\(bus)' was disposed" }
}
