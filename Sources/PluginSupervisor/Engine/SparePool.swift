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
        /// Spares being spawned or greeting: reserved before their link exists.
        var starting = 0
        /// The links of starting spares: the pool owns them until they greet or end.
        var launching: [WorkerLink] = []
        var wanted = false
    }

    private let perProfile: Int
    /// The profile's whole content, so two profiles with one name never share spares, and the
    /// libraries' digests, so a spare serves only sessions that load exactly its libraries.
    private struct Key: Hashable {
        var profile: SandboxProfile
        var libraries: [String]

        init(_ profile: SandboxProfile, _ libraries: [SealedPluginLibrary]) {
            self.profile = profile
            self.libraries = libraries.map(\.sha256)
        }
    }

    private let entries = Mutex<[Key: Entry]>([:])

    init(perProfile: Int) {
        self.perProfile = perProfile
    }

    /// Keeps spares for `profile` (without plugin libraries) from now on.
    func enable(_ profile: SandboxProfile) {
        entries.withLock { $0[Key(profile, []), default: Entry()].wanted = true }
    }

    /// Takes a ready spare for `profile` and `libraries` (and marks them as wanted for later).
    func take(_ profile: SandboxProfile, libraries: [SealedPluginLibrary] = []) -> WorkerLink? {
        guard perProfile > 0 else { return nil }
        let key = Key(profile, libraries)
        return entries.withLock { entries in
            entries[key, default: Entry()].wanted = true
            return entries[key]?.ready.popLast()
        }
    }

    /// Whether `profile` with `libraries` has fewer spares (ready or starting) than wanted.
    func wantsMore(_ profile: SandboxProfile, libraries: [SealedPluginLibrary] = []) -> Bool {
        entries.withLock { entries in
            guard let entry = entries[Key(profile, libraries)], entry.wanted else { return false }
            return entry.ready.count + entry.starting < perProfile
        }
    }

    /// Reserves one spare to spawn; false when enough are ready or starting.
    func beginRefill(_ profile: SandboxProfile, libraries: [SealedPluginLibrary] = []) -> Bool {
        let key = Key(profile, libraries)
        return entries.withLock { entries in
            var entry = entries[key, default: Entry()]
            guard entry.wanted, entry.ready.count + entry.starting < perProfile else { return false }
            entry.starting += 1
            entries[key] = entry
            return true
        }
    }

    /// The spawn reserved by ``beginRefill(_:libraries:)`` failed: nothing will greet.
    func refillFailed(_ profile: SandboxProfile, libraries: [SealedPluginLibrary] = []) {
        entries.withLock { $0[Key(profile, libraries)]?.starting -= 1 }
    }

    /// A reserved spare's link exists: the pool holds it while it starts.
    func launched(_ link: WorkerLink) {
        entries.withLock { $0[Key(link.profile, link.libraries), default: Entry()].launching.append(link) }
    }

    /// A spare greeted: it counts as ready, no longer as starting.
    fileprivate func add(_ link: WorkerLink) {
        let key = Key(link.profile, link.libraries)
        entries.withLock { entries in
            entries[key, default: Entry()].starting -= 1
            entries[key, default: Entry()].launching.removeAll { $0 === link }
            entries[key, default: Entry()].ready.append(link)
        }
    }

    /// A spare ended (taken spares belong to their session and never end here).
    fileprivate func remove(_ link: WorkerLink, greeted: Bool) {
        let key = Key(link.profile, link.libraries)
        entries.withLock { entries in
            if greeted {
                entries[key]?.ready.removeAll { $0 === link }
            } else {
                entries[key]?.starting -= 1
                entries[key]?.launching.removeAll { $0 === link }
            }
        }
    }

    /// Takes every spare, ready or starting (shutdown).
    func drain() -> [WorkerLink] {
        entries.withLock { entries in
            defer {
                for key in entries.keys {
                    entries[key]?.ready.removeAll()
                    entries[key]?.launching.removeAll()
                }
            }
            return entries.values.flatMap { $0.ready + $0.launching }
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
    func workerEnded(_ link: WorkerLink, cause: ExitCause) {
        // A spare that ended before greeting was still counted as starting.
        remove(link, greeted: link.wasSpare)
    }
}
