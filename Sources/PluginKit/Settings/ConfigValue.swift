/// A configuration value as it appears in settings JSON.
public enum ConfigValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([ConfigValue])
    case object([String: ConfigValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ConfigValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ConfigValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// Read-only, typed access to a service's or plugin's injected configuration.
///
/// Getters coerce the way settings files are written by people: `"42"` reads as the integer 42,
/// `"true"`/`"false"` and `1`/`0` read as booleans, integers read as doubles, numbers and
/// booleans read as strings. A value that cannot be coerced reads as nil (or the default).
public struct ConfigNode: Sendable, Hashable {
    /// The raw values.
    public let values: [String: ConfigValue]

    /// A node over `values`.
    public init(_ values: [String: ConfigValue] = [:]) { self.values = values }

    /// Whether there is no configuration.
    public var isEmpty: Bool { values.isEmpty }

    /// The raw value at `key`.
    public subscript(key: String) -> ConfigValue? { values[key] }

    /// `key` as a string.
    public func string(_ key: String) -> String? {
        switch values[key] {
        case .string(let value)?: return value
        case .int(let value)?: return String(value)
        case .double(let value)?: return String(value)
        case .bool(let value)?: return String(value)
        default: return nil
        }
    }

    /// `key` as an integer.
    public func int(_ key: String) -> Int? {
        switch values[key] {
        case .int(let value)?: return value
        case .double(let value)? where value.rounded() == value && abs(value) < 9e15: return Int(value)
        case .string(let text)?: return Int(text.trimmingWhitespace)
        default: return nil
        }
    }

    /// `key` as a double.
    public func double(_ key: String) -> Double? {
        switch values[key] {
        case .double(let value)?: return value
        case .int(let value)?: return Double(value)
        case .string(let text)?: return Double(text.trimmingWhitespace)
        default: return nil
        }
    }

    /// `key` as a boolean.
    public func bool(_ key: String) -> Bool? {
        switch values[key] {
        case .bool(let value)?: return value
        case .int(let value)? where value == 0 || value == 1: return value == 1
        case .string(let text)?:
            switch text.trimmingWhitespace.lowercased() {
            case "true", "yes", "1": return true
            case "false", "no", "0": return false
            default: return nil
            }
        default: return nil
        }
    }

    /// A nested node at `key` (empty when absent or not an object).
    public func node(_ key: String) -> ConfigNode {
        if case .object(let nested)? = values[key] { return ConfigNode(nested) }
        return ConfigNode()
    }

    /// `key` with a default.
    public func string(_ key: String, default value: String) -> String { string(key) ?? value }
    /// `key` with a default.
    public func int(_ key: String, default value: Int) -> Int { int(key) ?? value }
    /// `key` with a default.
    public func bool(_ key: String, default value: Bool) -> Bool { bool(key) ?? value }
}

extension String {
    var trimmingWhitespace: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}

extension ConfigValue {
    /// The value as compact JSON, for messages (`true`, `"dark"`, `{"title":"a"}`).
    public var jsonText: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .string(let value): return Self.quoted(value)
        case .array(let values): return "[" + values.map(\.jsonText).joined(separator: ",") + "]"
        case .object(let fields):
            return "{" + fields.sorted { $0.key < $1.key }.map { Self.quoted($0.key) + ":" + $0.value.jsonText }.joined(separator: ",") + "}"
        }
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
