import PluginSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A request to the main zygote: start the zygote of this profile.
struct ProfileZygoteRequest: Codable, Sendable {
    var profile: SandboxProfile
}

/// A zygote's answer: a pid (with descriptors attached), or the step that failed.
///
/// The main zygote answers a ``ProfileZygoteRequest`` with the profile zygote's pid and two
/// descriptors (its pidfd, the host's end of its socket). A profile zygote first announces its
/// own pid once its profile is prepared (no descriptors), then answers each launch plan with the
/// worker's pid and four descriptors (pidfd, session socket, output read end, bootstrap channel).
struct ZygoteReply: Codable, Sendable {
    var pid: Int32?
    var failedStep: String?
    var errno: Int32?
    var detail: String?

    /// Descriptors attached to a successful reply of the main zygote and to a spawned worker's.
    static let profileZygoteDescriptors = 2
    static let workerDescriptors = 4

    static func succeeded(_ pid: Int32) -> ZygoteReply {
        ZygoteReply(pid: pid, failedStep: nil, errno: nil, detail: nil)
    }

    static func failed(_ error: SpawnError) -> ZygoteReply {
        ZygoteReply(pid: nil, failedStep: error.step.description, errno: error.errno, detail: error.detail.isEmpty ? nil : error.detail)
    }

    func encoded() -> [UInt8] {
        // A success is written by hand: a zygote sends it right after a fork, when every
        // microsecond it keeps the CPU is one the new worker waits.
        if let pid, failedStep == nil, errno == nil, detail == nil { return Array("{\"pid\":\(pid)}".utf8) }
        return (try? encodeMessage(self)) ?? Array(#"{"failedStep":"zygoteReply"}"#.utf8)
    }

    static func decode(_ bytes: some Collection<UInt8>) throws(SpawnError) -> ZygoteReply {
        // The common answer, `{"pid":N}`, is read without a JSON decoder.
        let bytes = Array(bytes)
        let prefix = Array(#"{"pid":"#.utf8)
        if bytes.count > prefix.count + 1, bytes.starts(with: prefix), bytes.last == UInt8(ascii: "}"),
           let pid = Int32(String(decoding: bytes.dropFirst(prefix.count).dropLast(), as: UTF8.self)), pid > 0 {
            return .succeeded(pid)
        }
        do {
            return try decodeMessage(ZygoteReply.self, bytes)
        } catch {
            throw SpawnError(step: .zygoteReply, errno: error.errno, detail: error.detail)
        }
    }

    /// The failure this reply reports, or nil for a success.
    var failure: SpawnError? {
        guard pid == nil else { return nil }
        let step = failedStep.flatMap(SpawnError.Step.init(name:)) ?? .zygoteReply
        return SpawnError(step: step, errno: errno ?? EPROTO, detail: detail ?? "")
    }
}

/// One zygote's end of a request/reply exchange over a blocking SOCK_SEQPACKET socket.
struct ZygoteSocket {
    let descriptor: FileDescriptor

    /// Receives one request into `buffer`. Returns nil when the host hung up.
    func receive(into buffer: inout [UInt8], descriptorCapacity: Int) -> Result<(count: Int, descriptors: [FileDescriptor]), SpawnError>? {
        do throws(SystemCallError) {
            let received = try descriptor.receiveMessage(into: &buffer, descriptorCapacity: descriptorCapacity)
            if received.count == 0 {
                if ProcessCalls.peerHungUp(descriptor) { return nil }
                for extra in received.descriptors { extra.closeAfterUse() }
                return .failure(SpawnError(step: .decodeRequest, errno: ENODATA, detail: "an empty request"))
            }
            if received.count >= buffer.count {
                for extra in received.descriptors { extra.closeAfterUse() }
                return .failure(SpawnError(step: .requestTooLarge, errno: EMSGSIZE))
            }
            return .success(received)
        } catch where error.errno == .messageTooLong {
            return .failure(SpawnError(step: .requestTooLarge, errno: error.errno.rawValue, detail: "more than \(buffer.count - 1) bytes or too many descriptors"))
        } catch {
            return nil  // the socket failed: the host is gone
        }
    }

    /// Zeroes the first `count` bytes of `buffer`, so that no request (another session's
    /// environment) lingers in memory a later worker inherits.
    static func forget(_ buffer: inout [UInt8], count: Int) {
        buffer.withUnsafeMutableBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            memset(base, 0, min(count, bytes.count))
        }
    }

    /// Sends `reply` with `descriptors`; false when the host is gone.
    @discardableResult
    func send(_ reply: ZygoteReply, passing descriptors: [FileDescriptor] = []) -> Bool {
        do throws(SystemCallError) {
            try descriptor.sendMessage(reply.encoded(), passing: descriptors)
            return true
        } catch {
            return false
        }
    }
}
