#if canImport(Glibc)
import Glibc
#endif
import CPluginLibrary
import CPluginLibraryCalls
import Foundation
import PluginSandbox
import PluginWire

/// Loads a worker's plugin libraries, once every confinement layer is engaged and before the
/// worker greets the supervisor.
///
/// For each library: its descriptor must be a sealed copy of the size the supervisor sealed (so
/// its bytes are the ones the supervisor hashed), then `dlopen` maps it through
/// `/proc/self/fd/N` (a memfd is outside every Landlock rule: the worker needs no new path), its
/// entry point must be there, and what it declares (layout, protocol, fingerprint, plugins) must
/// match this worker exactly before anything else of it is called.
enum LibraryLoader {
    /// A library that cannot be loaded, and why.
    struct Failure: Error, CustomStringConvertible {
        /// The path the operator named.
        let path: String
        /// What went wrong.
        let reason: String

        var description: String { "plugin library \(path): \(reason)" }
    }

    /// Loads `libraries` in order and opens each one's session side; `offered` are the plugin ids
    /// the worker's own catalog offers (a library may not offer one of them again).
    static func load(_ libraries: [WorkerLibrary], offered: [String], connection: WorkerConnection) -> Result<[LibraryLink], Failure> {
        var taken = Set(offered)
        var links: [LibraryLink] = []
        for library in libraries {
            switch load(library, connection: connection) {
            case .failure(let failure):
                return .failure(failure)
            case .success(let link):
                if let clash = link.plugins.first(where: taken.contains) {
                    return .failure(Failure(path: library.path, reason: "offers session plugin '\(clash)', which this session already has"))
                }
                taken.formUnion(link.plugins)
                guard link.open() else { return .failure(Failure(path: library.path, reason: "its entry point refused to open a session")) }
                links.append(link)
            }
        }
        return .success(links)
    }

    private static func load(_ library: WorkerLibrary, connection: WorkerConnection) -> Result<LibraryLink, Failure> {
        func fail(_ reason: String) -> Result<LibraryLink, Failure> { .failure(Failure(path: library.path, reason: reason)) }
        let fd = library.descriptor.rawValue
        guard psl_is_sealed(fd) == 1 else { return fail("its copy is not sealed against writes; refusing to map it") }
        var version = psl_file_version()
        guard psl_file_version(fd, &version) == 0, version.size == Int64(library.size) else {
            return fail("its copy has \(version.size) bytes, but the supervisor sealed \(library.size)")
        }
        var error = [CChar](repeating: 0, count: 1024)
        func text(_ buffer: [CChar]) -> String {
            String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        guard let handle = psl_load_library(fd, &error, error.count) else {
            return fail("cannot be loaded: \(text(error))")
        }
        guard let entry = psl_find_symbol(handle, PSL_ENTRY_SYMBOL, &error, error.count) else {
            return fail("exports no \(PSL_ENTRY_SYMBOL) entry point: it was not built with the PluginLibrary module (\(text(error)))")
        }
        guard let raw = psl_call_entry(entry) else { return fail("its entry point returned no declaration") }
        let table = raw.assumingMemoryBound(to: psl_library_v1.self)
        let declared = table.pointee
        guard declared.abi_version == PSL_ABI_VERSION else {
            return fail("declares library ABI \(declared.abi_version); this worker takes ABI \(PSL_ABI_VERSION)")
        }
        guard declared.protocol_version == UInt32(ProtocolVersion.current) else {
            return fail("speaks protocol version \(declared.protocol_version); this worker speaks \(ProtocolVersion.current)")
        }
        let fingerprint = declared.fingerprint.map { String(cString: $0) } ?? "(none)"
        guard fingerprint == PluginLibraryFingerprint.current else {
            return fail("was built for \(fingerprint), but this worker is \(PluginLibraryFingerprint.current)")
        }
        let name = declared.name.map { String(cString: $0) } ?? library.path
        guard let text = declared.plugins.map({ String(cString: $0) }),
              let plugins = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
            return fail("declares its session plugins in something other than a JSON array of ids")
        }
        return .success(LibraryLink(path: library.path, name: name, plugins: plugins, table: table, connection: connection))
    }
}
