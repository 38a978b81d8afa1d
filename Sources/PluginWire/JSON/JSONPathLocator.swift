/// Names the field an error offset lies in: `payload[3].name` for an offset inside the
/// `name` member of the fourth element of `payload`.
///
/// Runs only after an error, over bytes that are well-formed up to the error: it walks tokens
/// from the start of the value to the offset, keeping the path of open arrays and objects.
enum JSONPathLocator {
    private enum Component {
        case pendingKey
        case key(String)
        case index(Int)
    }

    /// The path of the innermost member or element that contains `offset`.
    static func path(_ start: UnsafePointer<UInt8>, count: Int, from origin: Int, to offset: Int) -> String {
        var stack: [Component] = []
        var index = origin
        let limit = min(offset, count)
        walk: while index < limit {
            switch start[index] {
            case ASCII.openBrace:
                stack.append(.pendingKey)
            case ASCII.openBracket:
                stack.append(.index(0))
            case ASCII.closeBrace, ASCII.closeBracket:
                if !stack.isEmpty { stack.removeLast() }
            case ASCII.comma:
                switch stack.last {
                case .index(let position)?: stack[stack.count - 1] = .index(position + 1)
                case .key?: stack[stack.count - 1] = .pendingKey
                default: break
                }
            case ASCII.quote:
                var end = index + 1
                while end < limit, start[end] != ASCII.quote { end += start[end] == ASCII.backslash ? 2 : 1 }
                guard end < limit else { break walk }
                if case .pendingKey? = stack.last {
                    let key = String(decoding: UnsafeBufferPointer(start: start + index + 1, count: end - index - 1), as: UTF8.self)
                    stack[stack.count - 1] = .key(key)
                }
                index = end
            default:
                break
            }
            index += 1
        }
        return render(stack)
    }

    /// Paths longer than this many segments show their first and last ten around `…`.
    private static let longestPath = 24

    private static func render(_ stack: [Component]) -> String {
        var segments: [String] = []
        for component in stack {
            switch component {
            case .pendingKey:
                continue
            case .index(let position):
                segments.append("[\(position)]")
            case .key(let key):
                segments.append(segment(key, first: segments.isEmpty))
            }
        }
        if segments.count > longestPath {
            segments = segments.prefix(10) + ["…"] + segments.suffix(10)
        }
        return segments.joined()
    }

    /// A key as a path segment: `.name`, or `["a.b"]` when it would be ambiguous.
    static func segment(_ key: String, first: Bool) -> String {
        let plain = !key.isEmpty && !key.utf8.contains { $0 == ASCII.dot || $0 == ASCII.openBracket || $0 == ASCII.closeBracket || $0 == ASCII.space }
        let shown = Printable.truncated(key, limit: 64)
        if plain { return first ? shown : "." + shown }
        return "[\"\(shown)\"]"
    }
}
