/// The priority of a registration or handler: higher wins and runs first.
public struct Priority: Hashable, Sendable, Comparable, Codable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The number.
    public let value: Int

    /// A priority of `value`.
    public init(_ value: Int) { self.value = value }
    public init(integerLiteral value: Int) { self.value = value }
    public init(from decoder: any Decoder) throws { value = try decoder.singleValueContainer().decode(Int.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    /// 0.
    public static let lowest = Priority(0)
    /// 100.
    public static let low = Priority(100)
    /// 500, the default.
    public static let normal = Priority(500)
    /// 1,000.
    public static let elevated = Priority(1000)
    /// 5,000.
    public static let high = Priority(5000)
    /// 10,000.
    public static let system = Priority(10000)

    /// `by` above this priority.
    public func above(_ by: Int = 1) -> Priority { Priority(value + by) }
    /// `by` below this priority.
    public func below(_ by: Int = 1) -> Priority { Priority(value - by) }

    public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.value < rhs.value }
    public var description: String { "\(value)" }
}
