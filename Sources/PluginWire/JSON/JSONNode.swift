/// A parsed JSON document that keeps every number as its source text, so it can be read
/// later as any integer width (`UInt64` ids included) or as a `Double` without loss.
enum JSONNode: Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONNode])
    case object([String: JSONNode])

    /// The JSON type name used in error messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSONValue {
    /// Converts a parsed node; integral numbers that fit in `Int64` become ``int(_:)``.
    init(_ node: JSONNode) {
        switch node {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .number(let text): self = JSONValue(numberText: text)
        case .string(let value): self = .string(value)
        case .array(let elements): self = .array(elements.map(JSONValue.init))
        case .object(let members): self = .object(members.mapValues(JSONValue.init))
        }
    }

    private init(numberText text: String) {
        if let value = Int64(text) {
            self = .int(value)
            return
        }
        let value = Double(text) ?? .nan
        if value.rounded() == value, let exact = Int64(exactly: value) {
            self = .int(exact)
        } else {
            self = .double(value)
        }
    }

    /// The node this value would parse to.
    var node: JSONNode {
        switch self {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .int(let value): return .number(String(value))
        case .double(let value): return .number(String(value))
        case .string(let value): return .string(value)
        case .array(let elements): return .array(elements.map(\.node))
        case .object(let members): return .object(members.mapValues(\.node))
        }
    }
}
