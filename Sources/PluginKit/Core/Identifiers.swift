/// A typed string handle: each kind of id is its own type, sharing one implementation.
public protocol StringIdentifier: Hashable, Sendable, Codable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The id's text.
    var rawValue: String { get }
    /// Wraps `rawValue`.
    init(_ rawValue: String)
}

extension StringIdentifier {
    public init(stringLiteral value: String) { self.init(value) }
    public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// A plugin's id.
public struct PluginID: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// A service slot's id; may be namespaced (`panel.console`).
public struct ServiceID: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// The earlier spelling of ``PluginID``.
@available(*, deprecated, renamed: "PluginID")
public typealias PluginId = PluginID

/// The earlier spelling of ``ServiceID``.
@available(*, deprecated, renamed: "ServiceID")
public typealias ServiceId = ServiceID

/// A session's id, stable for the session's life (and across worker restarts).
///
/// A valid id has 1 to 128 characters from `A-Z a-z 0-9 . _ : -`, and starts with a letter or a
/// digit, so it is safe in file names, log lines and command lines. ``init(_:)`` wraps any text;
/// ``init(validating:)`` and `PluginRuntime.createSession` check it.
public struct SessionID: StringIdentifier {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The longest valid id, in characters.
    public static let maximumLength = 128

    /// Wraps `rawValue` after checking it.
    /// - Throws: ``SessionIDError`` naming the id and what is wrong with it.
    public init(validating rawValue: String) throws(SessionIDError) {
        try SessionID(rawValue).validate()
        self.rawValue = rawValue
    }

    /// Checks the id against the documented character set and length.
    /// - Throws: ``SessionIDError`` naming the id and what is wrong with it.
    public func validate() throws(SessionIDError) {
        guard let first = rawValue.first else { throw SessionIDError(id: rawValue, problem: .empty) }
        let length = rawValue.count
        guard length <= Self.maximumLength else { throw SessionIDError(id: rawValue, problem: .tooLong(length: length)) }
        guard Self.isLetterOrDigit(first) else { throw SessionIDError(id: rawValue, problem: .invalidFirstCharacter(first)) }
        for (offset, character) in rawValue.enumerated() where !Self.isAllowed(character) {
            throw SessionIDError(id: rawValue, problem: .invalidCharacter(character, offset: offset))
        }
    }

    /// A fresh, unique, valid id.
    public static func make() -> SessionID {
        SessionID("session-" + String(UInt64.random(in: 0...UInt64.max), radix: 36))
    }

    private static func isLetterOrDigit(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        return (ascii >= 0x30 && ascii <= 0x39) || (ascii >= 0x41 && ascii <= 0x5A) || (ascii >= 0x61 && ascii <= 0x7A)
    }

    private static func isAllowed(_ character: Character) -> Bool {
        isLetterOrDigit(character) || character == "." || character == "_" || character == ":" || character == "-"
    }
}

/// A session id that is not valid; names the id and what is wrong with it.
public struct SessionIDError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with an id.
    public enum Problem: Sendable, Equatable {
        /// The id is empty.
        case empty
        /// The id is longer than ``SessionID/maximumLength`` characters.
        case tooLong(length: Int)
        /// The id starts with something other than a letter or a digit.
        case invalidFirstCharacter(Character)
        /// A character outside `A-Z a-z 0-9 . _ : -`, at `offset` (in characters).
        case invalidCharacter(Character, offset: Int)
    }

    /// The id as given.
    public let id: String
    /// What is wrong with it.
    public let problem: Problem

    /// Creates the error.
    public init(id: String, problem: Problem) {
        self.id = id
        self.problem = problem
    }

    public var description: String {
        let shown = id.prefix(40).map(\.debugDescriptionEscaped).joined() + (id.count > 40 ? "…" : "")
        switch problem {
        case .empty:
            return "session id is empty"
        case .tooLong(let length):
            return "session id '\(shown)' has \(length) characters; at most \(SessionID.maximumLength) are allowed"
        case .invalidFirstCharacter(let character):
            return "session id '\(shown)' starts with '\(character.debugDescriptionEscaped)'; it must start with a letter or a digit"
        case .invalidCharacter(let character, let offset):
            return "session id '\(shown)' has '\(character.debugDescriptionEscaped)' at offset \(offset); only A-Z a-z 0-9 . _ : - are allowed"
        }
    }
}

extension Character {
    /// The character with control and non-ASCII characters escaped, for error messages.
    var debugDescriptionEscaped: String {
        unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? String($0) : $0.escaped(asASCII: true) }.joined()
    }
}

/// Builds and matches namespaced service ids: `Namespace("panel")("console")` is `panel.console`.
public struct Namespace: Hashable, Sendable {
    /// The namespace's own path, e.g. `panel`.
    public let path: String

    /// A namespace at `path`.
    public init(_ path: String) { self.path = path }

    /// The id `path.name`.
    public func callAsFunction(_ name: String) -> ServiceID { ServiceID("\(path).\(name)") }

    /// A nested namespace `path.name`.
    public func child(_ name: String) -> Namespace { Namespace("\(path).\(name)") }

    /// Whether `id` is a child or any descendant of this namespace.
    public func contains(_ id: ServiceID) -> Bool { id.rawValue.hasPrefix(path + ".") }
}
