#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A socket to a zygote, as the ``DispatchLoop`` watches it.
protocol ZygoteLink: AnyObject {
    var socket: FileDescriptor? { get }
    /// Whether the loop also waits for the socket to become writable (requests are queued).
    var watchingWrites: Bool { get set }
}

/// The host's link to its main zygote: requests not yet sent, and what each sent one awaits.
final class MainZygoteLink: ZygoteLink {
    /// Who waits for a reply of the main zygote.
    enum Awaiting {
        /// The zygote of this profile (its queued spawns wait on its link).
        case profile(ProfileKey)
        /// A raw request's caller.
        case raw(SpawnDispatcher.Completion)
    }

    let descriptor: FileDescriptor
    var socket: FileDescriptor? { descriptor }
    var watchingWrites = false
    var outbox: [([UInt8], Awaiting)] = []
    var awaiting: [Awaiting] = []

    init(socket: FileDescriptor) {
        self.descriptor = socket
    }
}

/// A spawn request for a profile zygote: the encoded launch plan, the caller's descriptors to pass
/// with it (copies travel; the caller keeps the originals), and who waits for the worker.
struct PendingSpawn {
    let request: [UInt8]
    let descriptors: [FileDescriptor]
    let completion: SpawnDispatcher.Completion
}

/// The host's link to the zygote of one profile.
final class ProfileZygoteLink: ZygoteLink {
    enum Phase {
        /// The main zygote has been asked to start it.
        case starting
        /// It runs and is preparing its profile; its first message says whether it could.
        case settingUp
        /// It serves launch plans.
        case ready
    }

    let key: ProfileKey
    let profileName: String
    private(set) var phase = Phase.starting
    private(set) var socket: FileDescriptor?
    private(set) var process: ProcessHandle?
    private(set) var token: UInt64 = 0
    var watchingWrites = false
    /// Spawns not yet sent (before the zygote is ready, or while its socket is full).
    var queued: [PendingSpawn] = []
    /// Spawns sent, in order; each reply completes the first.
    var awaiting: [SpawnDispatcher.Completion] = []
    var lastUsed = ContinuousClock.now

    init(key: ProfileKey, profileName: String) {
        self.key = key
        self.profileName = profileName
    }

    func connect(process: ProcessHandle, socket: FileDescriptor, token: UInt64) {
        self.process = process
        self.socket = socket
        self.token = token
        phase = .settingUp
    }

    func markReady() {
        phase = .ready
    }

    func disconnect() {
        socket = nil
        process = nil
    }
}

/// A profile's identity for the zygote cache: its whole content (two profiles share a zygote
/// exactly when they are equal), hashed as a value rather than re-encoded on every spawn.
struct ProfileKey: Hashable, Sendable, CustomStringConvertible {
    let profile: SandboxProfile

    init(_ profile: SandboxProfile) {
        self.profile = profile
    }

    var description: String { profile.name }
}
