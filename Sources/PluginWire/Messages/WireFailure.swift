/// A failure reported across the wire: as the ``WireMessage/error(_:)`` message, or inside a result.
public struct WireFailure: Sendable, Equatable, Error, CustomStringConvertible {
    /// What kind of failure this is.
    public var code: FailureCode
    /// A sentence for a person.
    public var message: String
    /// Context keys (plugin id, event name, field), if any.
    public var details: [String: String]?

    /// Creates a failure.
    public init(code: FailureCode, message: String, details: [String: String]? = nil) {
        self.code = code
        self.message = message
        self.details = details
    }

    /// `code: message [key=value, ...]`.
    public var description: String {
        guard let details, !details.isEmpty else { return "\(code): \(message)" }
        let context = details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        return "\(code): \(message) [\(context)]"
    }
}
