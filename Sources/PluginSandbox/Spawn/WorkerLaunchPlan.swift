#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PluginWire
#if canImport(Glibc)
import Glibc
#endif

/// Everything a new worker needs to know, as sent to its profile zygote (which holds the profile
/// already) or over the bootstrap channel to an exec'd worker (with the profile).
struct WorkerLaunchPlan: Codable, Sendable {
    var sessionID: String?
    var profile: SandboxProfile?
    var identity: WorkerIdentity?
    var environment: [String: String]
    /// The supervisor's pid: the worker's parent must be this process, or the worker exits.
    var supervisorPID: Int32
    /// How many `cgroup.procs` descriptors come with the plan (first), and whether a cgroup v2
    /// directory follows them.
    var joinCount: Int
    var joinsCgroupDirectory: Bool
    /// The plugin libraries whose sealed copies come last with the plan's descriptors, in order.
    var libraries: [LaunchLibrary] = []

    /// The largest encoded plan or request a zygote or worker accepts.
    static let maximumEncodedSize = 120 * 1024

    func encoded() throws(SpawnError) -> [UInt8] {
        try encodeMessage(self)
    }

    static func decode(_ bytes: some Collection<UInt8>) throws(SpawnError) -> WorkerLaunchPlan {
        try decodeMessage(WorkerLaunchPlan.self, bytes)
    }

    /// The environment as `NAME=value` strings, with the backtracer disabled.
    var environmentStrings: [String] {
        var variables = environment
        variables["SWIFT_BACKTRACE"] = "enable=no"
        return variables.map { "\($0.key)=\($0.value)" }.sorted()
    }
}

/// Encodes a zygote or bootstrap message, refusing one larger than the transport takes.
func encodeMessage(_ value: some Encodable) throws(SpawnError) -> [UInt8] {
    let bytes: [UInt8]
    do {
        bytes = try RawJSON(encoding: value).bytes
    } catch {
        throw SpawnError(step: .encodeRequest, errno: EINVAL, detail: "\(error)")
    }
    guard bytes.count <= WorkerLaunchPlan.maximumEncodedSize else {
        throw SpawnError(step: .requestTooLarge, errno: E2BIG, detail: "\(bytes.count) bytes")
    }
    return bytes
}

/// Decodes a zygote or bootstrap message.
func decodeMessage<Message: Decodable>(_ type: Message.Type, _ bytes: some Collection<UInt8>) throws(SpawnError) -> Message {
    do {
        return try RawJSON(validating: bytes).decode(type)
    } catch {
        throw SpawnError(step: .decodeRequest, errno: EINVAL, detail: "not a \(Message.self)")
    }
}
