import CPluginLibraryCalls
import PluginSystem
import Synchronization
import SystemPackage

/// Turns the plugin libraries an operator names into sealed, verified copies, once per version of
/// each file.
///
/// ``seal(_:)-(PluginLibraryReference)`` opens the file, and when this version of it (same inode, size, modification and
/// change times) was not sealed before, copies it into a memfd in the kernel, seals the memfd,
/// hashes the sealed bytes, and reads the fingerprint from the library's note, all without mapping
/// anything. A pinned digest that differs, a file that is not a plugin library, or one built for
/// another release or toolchain is refused here, before any worker is spawned. Sealed copies are
/// shared by every session that names the same version of a file (at most ``capacity`` kept).
public final class PluginLibraryStore: Sendable {
    /// The largest library accepted.
    public static let maximumSize = 512 << 20
    /// The store every host of the process uses unless its configuration names another.
    public static let shared = PluginLibraryStore()
    /// The most sealed copies kept for reuse.
    public let capacity: Int

    private struct Key: Hashable {
        var path: String
        var version: FileVersion
    }

    private struct FileVersion: Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var changed: Int64
    }

    private struct Cache {
        var entries: [Key: SealedPluginLibrary] = [:]
        var order: [Key] = []
    }

    private let cache = Mutex(Cache())

    /// A store keeping at most `capacity` sealed copies.
    public init(capacity: Int = 16) {
        self.capacity = max(1, capacity)
    }

    /// The sealed copy of the library `reference` names, verified against its pin and this host's
    /// fingerprint.
    public func seal(_ reference: PluginLibraryReference) throws(PluginLibraryError) -> SealedPluginLibrary {
        let path = reference.path
        let pin = try Self.normalisedPin(reference)
        let file: FileDescriptor
        do {
            file = FileDescriptor(rawValue: try systemCall("open") { psl_open_read_only(path) })
        } catch {
            throw PluginLibraryError(.unreadable, path: path, detail: "cannot be opened: \(error.errno) (errno \(error.errno.rawValue))")
        }
        defer { file.closeAfterUse() }
        let before = try Self.version(of: file, path: path)
        let key = Key(path: path, version: before)
        let sealed: SealedPluginLibrary
        if let cached = cache.withLock({ $0.entries[key] }) {
            sealed = cached
        } else {
            sealed = try Self.copy(file, path: path, version: before)
            // A file rewritten while it was copied is refused: its digest would name neither version.
            guard try Self.version(of: file, path: path) == before else {
                throw PluginLibraryError(.changedWhileCopying, path: path, detail: "changed while it was being copied; try again once it is written")
            }
            remember(sealed, under: key)
        }
        if let pin, pin != sealed.sha256 {
            throw PluginLibraryError(.digestMismatch, path: path, expected: pin, actual: sealed.sha256, detail: "digest mismatch")
        }
        guard sealed.fingerprint == PluginLibraryFingerprint.current else {
            throw PluginLibraryError(.incompatible, path: path, expected: PluginLibraryFingerprint.current, actual: sealed.fingerprint,
                                     detail: "incompatible build")
        }
        return sealed
    }

    /// Seals every library of one session, refusing more than a worker takes and the same bytes twice.
    public func seal(_ references: [PluginLibraryReference]) throws(PluginLibraryError) -> [SealedPluginLibrary] {
        if references.count > SpawnRequest.maximumLibraries, let extra = references.last {
            throw PluginLibraryError(.tooMany, path: extra.path,
                                     detail: "\(references.count) plugin libraries for one session; a worker takes at most \(SpawnRequest.maximumLibraries)")
        }
        var sealed: [SealedPluginLibrary] = []
        for reference in references {
            let library = try seal(reference)
            if let twin = sealed.first(where: { $0.sha256 == library.sha256 }) {
                throw PluginLibraryError(.duplicate, path: reference.path, detail: "has the same bytes as \(twin.path), named before it")
            }
            sealed.append(library)
        }
        return sealed
    }

    private func remember(_ sealed: SealedPluginLibrary, under key: Key) {
        cache.withLock { cache in
            cache.entries[key] = sealed
            cache.order.removeAll { $0 == key }
            cache.order.append(key)
            while cache.order.count > capacity {
                cache.entries[cache.order.removeFirst()] = nil
            }
        }
    }

    private static func normalisedPin(_ reference: PluginLibraryReference) throws(PluginLibraryError) -> String? {
        guard let pin = reference.sha256 else { return nil }
        let lowered = pin.lowercased()
        guard lowered.utf8.count == 64, lowered.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw PluginLibraryError(.malformedDigest, path: reference.path, expected: nil, actual: pin,
                                     detail: "the pinned SHA-256 '\(pin)' is not 64 hexadecimal digits")
        }
        return lowered
    }

    private static func version(of file: FileDescriptor, path: String) throws(PluginLibraryError) -> FileVersion {
        var raw = psl_file_version()
        do {
            _ = try systemCall("fstat") { psl_file_version(file.rawValue, &raw) }
        } catch {
            throw PluginLibraryError(.unreadable, path: path, detail: "cannot be inspected: \(error)")
        }
        guard raw.regular == 1 else { throw PluginLibraryError(.notARegularFile, path: path, detail: "is not a regular file") }
        guard raw.size <= Int64(maximumSize) else {
            throw PluginLibraryError(.tooLarge, path: path, detail: "is \(raw.size) bytes; a plugin library may have at most \(maximumSize)")
        }
        return FileVersion(device: raw.device, inode: raw.inode, size: raw.size, modified: raw.modified_ns, changed: raw.changed_ns)
    }

    /// Copies `file` into a sealed memfd and reads what it holds: digest and fingerprint.
    private static func copy(_ file: FileDescriptor, path: String, version: FileVersion) throws(PluginLibraryError) -> SealedPluginLibrary {
        let size = Int(version.size)
        let memfd: FileDescriptor
        do {
            let name = "plugin-library:" + (path.split(separator: "/").last.map(String.init) ?? "library")
            memfd = FileDescriptor(rawValue: try systemCall("memfd_create") { psl_memfd(String(name.prefix(200))) })
        } catch {
            throw PluginLibraryError(.copyFailed, path: path, detail: "no sealed copy: \(error)")
        }
        defer { memfd.closeAfterUse() }
        let readOnly: FileDescriptor
        let digest: String
        do {
            _ = try systemCall("sendfile") { psl_copy_file(file.rawValue, memfd.rawValue, Int64(size)) }
            _ = try systemCall("fcntl(F_ADD_SEALS)") { psl_seal(memfd.rawValue) }
            readOnly = FileDescriptor(rawValue: try systemCall("open(/proc/self/fd)") { psl_reopen_read_only(memfd.rawValue) })
        } catch where error.errno == .noData {
            throw PluginLibraryError(.changedWhileCopying, path: path, detail: "shrank while it was being copied")
        } catch {
            throw PluginLibraryError(.copyFailed, path: path, detail: "no sealed copy: \(error)")
        }
        do {
            digest = try sha256(of: readOnly, size: size)
        } catch {
            readOnly.closeAfterUse()
            throw PluginLibraryError(.copyFailed, path: path, detail: "the sealed copy cannot be read: \(error)")
        }
        let note = LibraryNote.fingerprint(size: size) { offset, count in
            guard offset >= 0, count >= 0, offset <= size, count <= size - offset else { return nil }
            var bytes = [UInt8](repeating: 0, count: count)
            let read = bytes.withUnsafeMutableBytes { buffer in psl_read_at(readOnly.rawValue, buffer.baseAddress, count, Int64(offset)) }
            return read == Int64(count) ? bytes : nil
        }
        switch note {
        case .success(let fingerprint):
            return SealedPluginLibrary(path: path, sha256: digest, size: size, fingerprint: fingerprint, descriptor: readOnly)
        case .failure(let problem):
            readOnly.closeAfterUse()
            switch problem {
            case .otherMachine(let machine):
                throw PluginLibraryError(.incompatible, path: path, expected: PluginLibraryFingerprint.current,
                                         actual: "an ELF object for \(LibraryNote.machineName(machine))", detail: "other machine")
            case .notAnELFSharedObject(let why):
                throw PluginLibraryError(.notAPluginLibrary, path: path, detail: "is not an ELF shared object (\(why))")
            case .noNote:
                throw PluginLibraryError(.notAPluginLibrary, path: path,
                                         detail: "has no PluginSandbox note: it was not built with the PluginLibrary module of this package")
            }
        }
    }
}
