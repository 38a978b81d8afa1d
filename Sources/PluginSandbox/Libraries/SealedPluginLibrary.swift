import CPluginLibrary
import CPluginLibraryCalls
import PluginSystem
import SystemPackage

/// A plugin library's bytes, verified and sealed: a memfd the supervisor filled from the file,
/// sealed against every change, and hashed after the seal. A worker maps exactly these bytes
/// (through a read-only descriptor it receives at spawn), so there is no window between the check
/// and the load: whatever happens to the file afterwards, the digest describes what is loaded.
///
/// The supervisor never maps the copy: it is written and read with system calls only.
public final class SealedPluginLibrary: Sendable, CustomStringConvertible {
    /// The path the operator named.
    public let path: String
    /// The SHA-256 of the sealed bytes (64 lowercase hexadecimal digits).
    public let sha256: String
    /// The size in bytes.
    public let size: Int
    /// The fingerprint the library declares in its note (see `plugin_library.h`).
    public let fingerprint: String
    /// A read-only descriptor of the sealed memfd (close-on-exec), closed with this object.
    let descriptor: FileDescriptor

    init(path: String, sha256: String, size: Int, fingerprint: String, descriptor: FileDescriptor) {
        self.path = path
        self.sha256 = sha256
        self.size = size
        self.fingerprint = fingerprint
        self.descriptor = descriptor
    }

    deinit { descriptor.closeAfterUse() }

    /// What a worker is told of this library in its launch plan.
    var launchDescription: LaunchLibrary {
        LaunchLibrary(path: path, sha256: sha256, size: size)
    }

    /// `PATH (sha256 XXXXXXXXXXXX…, N bytes)`.
    public var description: String { "\(path) (sha256 \(sha256.prefix(12))…, \(size) bytes)" }
}

/// A plugin library as a worker's launch plan names it; its sealed copy arrives as a descriptor.
struct LaunchLibrary: Codable, Sendable, Equatable {
    var path: String
    var sha256: String
    var size: Int
}

/// The host's own fingerprint, as its build of `plugin_library.h` says.
public enum PluginLibraryFingerprint {
    /// This build's fingerprint: release, library ABI, protocol, architecture, toolchain.
    public static let current = String(cString: psl_fingerprint())
}

/// The digest of everything `fd` holds, read with `pread` (never mapped).
func sha256(of fd: FileDescriptor, size: Int) throws(SystemCallError) -> String {
    var context = psl_sha256()
    psl_sha256_start(&context)
    let chunk = 256 * 1024
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    var offset = 0
    while offset < size {
        let count = try systemCall("pread") { psl_read_at(fd.rawValue, buffer.baseAddress, min(chunk, size - offset), Int64(offset)) }
        if count == 0 { throw SystemCallError(function: "pread (the copy ended early)", errno: .ioError) }
        psl_sha256_add(&context, buffer.baseAddress, Int(count))
        offset += Int(count)
    }
    var digest = [UInt8](repeating: 0, count: 32)
    digest.withUnsafeMutableBufferPointer { bytes in psl_sha256_finish(&context, bytes.baseAddress) }
    return digest.map { byte in
        let hex = Array("0123456789abcdef".utf8)
        return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
    }.joined()
}
