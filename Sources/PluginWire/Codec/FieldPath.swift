/// A coding path rendered the way a person writes it: `error.details.host`, `plugins[2]`.
struct FieldPath: CustomStringConvertible {
    let keys: [any CodingKey]

    init(_ keys: [any CodingKey]) { self.keys = keys }

    var description: String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text.isEmpty ? "(top level)" : text
    }

    /// The JSON type a Swift type is read from, in the words of the protocol document.
    static func jsonTypeName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt64.Type, is UInt32.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is [String: Any].Type: return "an object"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array<") { return "an array" }
            if name.hasPrefix("Dictionary<") { return "an object" }
            return "a \(name) value"
        }
    }
}
