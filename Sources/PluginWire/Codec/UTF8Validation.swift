import Foundation

/// Finds the first byte that breaks UTF-8, so a bad frame can be reported by offset.
enum UTF8Validation {
    /// Returns the offset of the first invalid byte, or `nil` when all of `bytes` is UTF-8.
    static func firstInvalidOffset(in bytes: some Collection<UInt8>) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }
}
