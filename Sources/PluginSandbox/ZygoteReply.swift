#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The zygote's answer to one spawn request: the worker's pid (with four descriptors attached:
/// pidfd, session socket, output read end, report read end), or the step that failed.
struct ZygoteReply: Codable, Sendable {
    var pid: Int32?
    var failedStep: String?
    var errno: Int32?

    /// Number of descriptors attached to a successful reply.
    static let descriptorCount = 4

    static func spawned(_ pid: Int32) -> ZygoteReply {
        ZygoteReply(pid: pid, failedStep: nil, errno: nil)
    }

    static func failed(_ error: SpawnError) -> ZygoteReply {
        ZygoteReply(pid: nil, failedStep: error.step.description, errno: error.errno)
    }

    func encoded() -> [UInt8] {
        (try? JSONEncoder().encode(self)).map(Array.init) ?? Array(#"{"failedStep":"zygoteReply"}"#.utf8)
    }

    static func decode(_ bytes: some Collection<UInt8>) throws(SpawnError) -> ZygoteReply {
        do {
            return try JSONDecoder().decode(ZygoteReply.self, from: Data(bytes))
        } catch {
            throw SpawnError(step: .zygoteReply, errno: EPROTO)
        }
    }
}
