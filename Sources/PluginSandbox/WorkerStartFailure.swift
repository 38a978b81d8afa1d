#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one JSON line a worker writes to its report pipe when it cannot start (it then exits with 126),
/// e.g. `{"startFailure":"confinement","detail":"confinement layer seccomp failed: ..."}`.
public struct WorkerStartFailure: Codable, Sendable, Equatable {
    /// The stage that failed: "plan" (launch plan missing or malformed) or "confinement".
    public var stage: String
    /// What failed, for the operator.
    public var detail: String

    private enum CodingKeys: String, CodingKey {
        case stage = "startFailure"
        case detail
    }

    /// Creates a failure record.
    public init(stage: String, detail: String) {
        self.stage = stage
        self.detail = detail
    }

    /// Parses one report line; nil when the line is not a start failure.
    public static func parse(_ line: some Collection<UInt8>) -> WorkerStartFailure? {
        try? JSONDecoder().decode(WorkerStartFailure.self, from: Data(line))
    }

    /// The record as one newline-terminated JSON line.
    func line() -> [UInt8] {
        let encoded = (try? JSONEncoder().encode(self)).map(Array.init) ?? Array(#"{"startFailure":"unknown","detail":""}"#.utf8)
        return encoded + [UInt8(ascii: "\n")]
    }
}
