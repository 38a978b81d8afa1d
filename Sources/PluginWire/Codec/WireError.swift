/// Why a frame body could not be turned into a ``WireMessage`` (or a message into a frame).
///
/// Decoding errors name the message kind and the field path (`error.code`,
/// `plugins[2]`) so a worker author can see exactly what the supervisor rejected.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The body is not valid UTF-8; `offset` is the index of the first bad byte.
    case invalidUTF8(offset: Int)
    /// The body is not one well-formed JSON document; `offset` is where parsing stopped.
    case malformedJSON(offset: Int, reason: String)
    /// The body is valid JSON but its top level is not an object.
    case notAnObject
    /// The object has no `kind` field.
    case missingKind
    /// The `kind` field is present but is not a string.
    case kindNotAString
    /// The `kind` names no message of this protocol version.
    case unknownKind(String)
    /// A field the kind requires is absent (`field` is a dotted path).
    case missingField(kind: String, field: String)
    /// A field holds the wrong JSON type (`expected` is a JSON type name such as `string`).
    case wrongType(kind: String, field: String, expected: String)
    /// A field has the right JSON type but an unacceptable value (out of range, unknown enum case).
    case invalidValue(kind: String, field: String, description: String)
    /// The peer speaks another protocol version.
    case versionMismatch(local: Int, remote: Int)
    /// A message or value has no JSON form (for example a NaN number).
    case unencodable(kind: String, description: String)
    /// An encoded message is longer than the frame limit.
    case frameTooLong(kind: String, length: Int, maximum: Int)

    /// A sentence that says what was wrong and where.
    public var description: String {
        switch self {
        case .invalidUTF8(let offset):
            return "frame body is not valid UTF-8 (first bad byte at offset \(offset))"
        case .malformedJSON(let offset, let reason):
            return "frame body is not well-formed JSON at byte offset \(offset): \(reason)"
        case .notAnObject:
            return "frame body must be a JSON object with a \"kind\" field"
        case .missingKind:
            return "message has no \"kind\" field"
        case .kindNotAString:
            return "message field \"kind\" must be a string"
        case .unknownKind(let kind):
            return "unknown message kind \"\(kind)\" (protocol version \(ProtocolVersion.current))"
        case .missingField(let kind, let field):
            return "\(Self.subject(kind)) is missing required field \"\(field)\""
        case .wrongType(let kind, let field, let expected):
            return "\(Self.subject(kind)) field \"\(field)\" must be \(expected)"
        case .invalidValue(let kind, let field, let description):
            return "\(Self.subject(kind)) field \"\(field)\" has an invalid value: \(description)"
        case .versionMismatch(let local, let remote):
            return "protocol version mismatch: this side speaks version \(local), the peer speaks version \(remote); "
                + "rebuild the worker against the same PluginWire version as the supervisor"
        case .unencodable(let kind, let description):
            return "\(Self.subject(kind)) cannot be encoded as JSON: \(description)"
        case .frameTooLong(let kind, let length, let maximum):
            return "\(Self.subject(kind)) encodes to \(length) bytes, more than the frame maximum of \(maximum) bytes"
        }
    }

    /// `"emit" message` for a message kind, the type name (`Point`) for a value decoded through ``JSONValue``.
    private static func subject(_ kind: String) -> String {
        WireMessage.kinds.contains(kind) ? "\"\(kind)\" message" : kind
    }
}
