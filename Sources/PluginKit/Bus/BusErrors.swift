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

/// A payload that arrived as JSON could not be decoded as the event or request type registered
/// under its wire name.
public struct WirePayloadError: Error, Sendable, CustomStringConvertible {
    /// The wire name.
    public let name: String
    /// What the decoder said.
    public let reason: String

    public var description: String { "payload of \(name) does not decode: \(reason)" }
}

/// The bus was disposed.
public struct BusDisposed: Error, Sendable, CustomStringConvertible {
    public var description: String { "the event bus was disposed" }
}

/// An event that arrived by wire name with no handler type known here; `bind` observers see it.
public struct UnknownWireEvent: Sendable, Equatable {
    /// The wire name.
    public let name: String
    /// The payload, UTF-8 JSON.
    public let payload: Data
}

import struct Foundation.Data
