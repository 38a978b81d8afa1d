/// A coding path rendered the way a person writes it: `error.details.host`, `plugins[2]`.
struct FieldPath: CustomStringConvertible {
    let keys: [any CodingKey]

    init(_ keys: [any CodingKey]) { self.keys = keys }

    /// The path; empty for the top level.
    var description: String {
        var text = ""
        for key in keys {
            if key is IndexKey, let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += JSONPathLocator.segment(key.stringValue, first: text.isEmpty)
            }
        }
        return text
    }

    /// The JSON type a Swift type is read from, in the words of the protocol document.
    static func jsonTypeName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int8.Type, is Int16.Type, is Int32.Type, is Int64.Type,
             is UInt.Type, is UInt8.Type, is UInt16.Type, is UInt32.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is [String: Any].Type: return "an object"
        case is [Any].Type: return "an array"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array<") { return "an array" }
            if name.hasPrefix("Dictionary<") { return "an object" }
            return "a \(name) value"
        }
    }
}
