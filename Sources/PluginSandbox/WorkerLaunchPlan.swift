#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Everything a new worker needs to know, as sent to the zygote (a datagram) or to an exec'd worker
/// (an environment variable).
struct WorkerLaunchPlan: Codable, Sendable {
    var sessionID: String
    var profile: SandboxProfile
    var identity: WorkerIdentity?
    var environment: [String: String]
    /// The supervisor's pid: the worker's parent must be this process, or the worker exits.
    var supervisorPID: Int32

    /// The largest encoded plan either transport accepts (an environment string is capped at 128 KiB).
    static let maximumEncodedSize = 120 * 1024

    func encoded() throws(SpawnError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = Array(try JSONEncoder().encode(self))
        } catch {
            throw SpawnError(step: .encodeRequest, errno: 0)
        }
        guard bytes.count <= Self.maximumEncodedSize else {
            throw SpawnError(step: .requestTooLarge, errno: E2BIG)
        }
        return bytes
    }

    static func decode(_ bytes: some Collection<UInt8>) throws(SpawnError) -> WorkerLaunchPlan {
        do {
            return try JSONDecoder().decode(WorkerLaunchPlan.self, from: Data(bytes))
        } catch {
            throw SpawnError(step: .decodeRequest, errno: EINVAL)
        }
    }
}
