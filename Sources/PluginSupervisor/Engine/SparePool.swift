import Foundation
import PluginSandbox
import PluginWire
import Synchronization

/// Warm spare workers, per profile: forked, confined and greeted ahead of need, like Chromium's
/// spare renderer, so a new session only has to send its welcome.
///
/// A spare is taken by the first session that asks for its profile and plugin libraries (a spare
/// has loaded its libraries already); a different profile or set of libraries starts cold. A
/// spare that dies while waiting is dropped and replaced.
final class SparePool: Sendable {
    private struct Entry {
        var ready: [WorkerLink] = []
        var starting = 0
        var wanted = false
    }

    private let perProfile: Int
    private let entries = Mutex<[String: Entry]>([:])
    private let profiles = Mutex<[String: SandboxProfile]>([:])

    init(perProfile: Int) {
        self.perProfile = perProfile
    }

    private static func key(_ profile: SandboxProfile, _ libraries: [SealedPluginLibrary]) -> String {
        // The profile's whole content, so two profiles with one name never share spares, and the
        // libraries' digests, so a spare serves only sessions that load exactly its libraries.
        let data = (try? JSONEncoder().encode(profile)) ?? Data(profile.name.utf8)
        return ([profile.name, String(data.hashValue, radix: 36), "\(data.count)"] + libraries.map(\.sha256)).joined(separator: ":")
    }

    /// Keeps spares for `profile` from now on.
    func enable(_ profile: SandboxProfile) {
        let key = Self.key(profile, [])
        profiles.withLock { $0[key] = profile }
        entries.withLock { $0[key, default: Entry()].wanted = true }
    }

    /// Takes a ready spare for `profile` and `libraries` (and marks them as wanted for later).
    func take(_ profile: SandboxProfile, libraries: [SealedPluginLibrary] = []) -> WorkerLink? {
        guard perProfile > 0 else { return nil }
        let key = Self.key(profile, libraries)
        profiles.withLock { $0[key] = profile }
        return entries.withLock { entries in
            entries[key, default: Entry()].wanted = true
            return entries[key]?.ready.popLast()
        }
    }

    /// Whether `profile` with `libraries` has fewer spares (ready or starting) than wanted.
    func wantsMore(_ profile: SandboxProfile, libraries: [SealedPluginLibrary] = []) -> Bool {
        let key = Self.key(profile, libraries)
        return entries.withLock { entries in
            guard let entry = entries[key], entry.wanted else { return false }
            return entry.ready.count + entry.starting < perProfile
        }
    }

    /// Reserves one spare to spawn; false when enough are ready or starting.
    func beginRefill(_ profile: SandboxProfile, libraries: [SealedPluginLibrary] = []) -> Bool {
        let key = Self.key(profile, libraries)
        return entries.withLock { entries in
            var entry = entries[key, default: Entry()]
            guard entry.wanted, entry.ready.count + entry.starting < perProfile else { return false }
            entry.starting += 1
            entries[key] = entry
            return true
        }
    }

    /// The spawn reserved by ``beginRefill(_:)`` is over (the spare greets later, or it failed).
    func endRefill(_ profile: SandboxProfile, libraries: [SealedPluginLibrary] = []) {
        let key = Self.key(profile, libraries)
        entries.withLock { $0[key]?.starting -= 1 }
    }

    fileprivate func add(_ link: WorkerLink) {
        let key = Self.key(link.profile, link.libraries)
        entries.withLock { $0[key, default: Entry()].ready.append(link) }
    }

    fileprivate func remove(_ link: WorkerLink) {
        let key = Self.key(link.profile, link.libraries)
        entries.withLock { $0[key]?.ready.removeAll { $0 === link } }
    }

    /// Takes every ready spare (shutdown).
    func drain() -> [WorkerLink] {
        entries.withLock { entries in
            defer { for key in entries.keys { entries[key]?.ready.removeAll() } }
            return entries.values.flatMap(\.ready)
        }
    }
}

extension SparePool: WorkerLinkOwner {
    func workerBecameSpare(_ link: WorkerLink) { add(link) }
    func workerStarted(_ link: WorkerLink, ready: Ready) {}
    func worker(_ link: WorkerLink, called call: GlobalCall) {
        link.kill(.protocolBreach("made a global call before it had a session"))
    }
    func worker(_ link: WorkerLink, cancelled id: UInt64) {}
    func worker(_ link: WorkerLink, logged entry: SessionLogEntry) {}
    func worker(_ link: WorkerLink, printed bytes: UnsafeRawBufferPointer) {}
    func workerEnded(_ link: WorkerLink, cause: ExitCause) { remove(link) }
}
