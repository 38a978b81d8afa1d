// Stand-in until the confinement branch lands; deleted at merge.
import Foundation
public struct ViolationReport: Codable, Sendable, Equatable {
    public var syscall: String
    public var number: Int32
    public var arch: String
    public static func parse(_ line: some Collection<UInt8>) -> ViolationReport? {
        try? JSONDecoder().decode(ViolationReport.self, from: Data(line))
    }
}
