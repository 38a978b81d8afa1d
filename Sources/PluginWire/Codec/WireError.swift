/// Why bytes could not be read as a ``WireMessage`` or a ``RawJSON`` value, or why a value
/// could not be written.
///
/// Every error that comes from input names *where*: the byte ``offset`` into the frame body
/// (or JSON text) and the ``field`` path inside the ``subject``, so a worker author can see
/// exactly what the supervisor rejected: `emit.payload[3].name: not valid UTF-8 (at byte offset 57)`.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem this is.
    public var code: Code
    /// The message kind (`emit`) or the decoded type (`Point`) the error is about; `nil` when
    /// not known (a bare JSON value, or a body whose kind was not read yet).
    public var subject: String?
    /// The path of the offending field inside ``subject`` (`payload[3].name`); empty for the
    /// subject itself.
    public var field: String
    /// The byte offset into the frame body or JSON text where the problem was seen (for a missing
    /// field: the end of the object that lacks it); `nil` for errors not tied to input bytes.
    public var offset: Int?
    /// What was wrong, in words (`must be a string`, `number -1 does not fit in UInt64`).
    public var reason: String

    /// Creates an error; decoders build these, tests compare against them.
    public init(code: Code, subject: String? = nil, field: String = "", offset: Int? = nil, reason: String) {
        self.code = code
        self.subject = subject
        self.field = field
        self.offset = offset
        self.reason = reason
    }

    /// `subject.field: reason (at byte offset N)`.
    public var description: String {
        let location: String
        switch (subject, field.isEmpty) {
        case (let subject?, true): location = subject
        case (let subject?, false): location = field.hasPrefix("[") ? subject + field : subject + "." + field
        case (nil, true): location = "JSON value"
        case (nil, false): location = field
        }
        guard let offset else { return subject == nil && field.isEmpty ? reason : "\(location): \(reason)" }
        return "\(location): \(reason) (at byte offset \(offset))"
    }

    /// The same error, located at `field` inside `subject` (for errors raised without context).
    func located(subject: String?, field: String) -> WireError {
        var copy = self
        copy.subject = subject
        copy.field = field
        return copy
    }
}

extension WireError {
    /// A machine-readable class of ``WireError``; new codes may appear in later versions.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Known: String, Hashable, Sendable {
            case invalidUTF8, malformedJSON, tooDeep, trailingData, notAnObject, missingKind, unknownKind,
                 missingField, wrongType, outOfRange, invalidValue, versionMismatch, unencodable, frameTooLong
        }

        private let known: Known

        private init(_ known: Known) { self.known = known }

        /// A byte sequence that is not UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// Bytes that break the JSON grammar (RFC 8259), or a number too large for a `Double`.
        public static let malformedJSON = Code(.malformedJSON)
        /// Arrays and objects nested deeper than ``RawJSON/maximumDepth``.
        public static let tooDeep = Code(.tooDeep)
        /// Bytes after the one JSON value a body or text may hold.
        public static let trailingData = Code(.trailingData)
        /// A frame body whose top level is not a JSON object.
        public static let notAnObject = Code(.notAnObject)
        /// A message object without a `kind` field.
        public static let missingKind = Code(.missingKind)
        /// A `kind` this protocol version does not define.
        public static let unknownKind = Code(.unknownKind)
        /// A required field is absent.
        public static let missingField = Code(.missingField)
        /// A field holds the wrong JSON type.
        public static let wrongType = Code(.wrongType)
        /// A number that does not fit the field's type (`UInt64` ids, `Int32` pid).
        public static let outOfRange = Code(.outOfRange)
        /// A value of the right type that is not acceptable (an unknown scope).
        public static let invalidValue = Code(.invalidValue)
        /// The peer speaks another protocol version.
        public static let versionMismatch = Code(.versionMismatch)
        /// A value with no JSON form (a NaN, nesting past the limit).
        public static let unencodable = Code(.unencodable)
        /// An encoded message longer than the frame maximum.
        public static let frameTooLong = Code(.frameTooLong)

        /// The code's name, such as `missingField`.
        public var description: String { known.rawValue }
    }
}

extension WireError {
    /// The peer speaks protocol version `remote`, this side `local`.
    public static func versionMismatch(local: Int, remote: Int) -> WireError {
        WireError(code: .versionMismatch, reason:
            "protocol version mismatch: this side speaks version \(local), the peer speaks version \(remote); "
                + "rebuild the worker against the same PluginWire version as the supervisor")
    }

    /// A message of `kind` encodes to `length` bytes, more than `maximum`.
    public static func frameTooLong(kind: WireMessage.Kind, length: Int, maximum: Int) -> WireError {
        WireError(code: .frameTooLong, subject: kind.rawValue,
                  reason: "encodes to \(length) bytes, more than the frame maximum of \(maximum) bytes")
    }

    static func malformed(_ offset: Int, _ reason: String) -> WireError {
        WireError(code: .malformedJSON, offset: offset, reason: reason)
    }
}
