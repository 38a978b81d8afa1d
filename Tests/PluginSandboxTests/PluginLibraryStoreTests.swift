#if canImport(Glibc)
import Glibc
#endif
import CPluginLibrary
import CPluginLibraryCalls
import Foundation
import XCTest
@testable import PluginSandbox

/// The supervisor's side of a plugin library: the sealed copy, its digest, the note, the cache.
final class PluginLibraryStoreTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "library-store-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A plugin-library-shaped ELF object: the smallest 64-bit shared object header of this machine
    /// with one PT_NOTE segment holding `fingerprint` as the PluginSandbox note.
    private func library(named name: String, fingerprint: String = PluginLibraryFingerprint.current, machine: UInt16? = nil) throws -> String {
        var bytes = [UInt8](repeating: 0, count: 64 + 56)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { for (index, byte) in $0.enumerated() { bytes[offset + index] = byte } }
        }
        bytes[0...5] = [0x7F, UInt8(ascii: "E"), UInt8(ascii: "L"), UInt8(ascii: "F"), 2, 1]
        put(UInt16(3), at: 16)
        put(machine ?? LibraryNote.hostMachine, at: 18)
        put(UInt64(64), at: 32)
        put(UInt16(56), at: 54)
        put(UInt16(1), at: 56)
        let owner = Array(PSL_NOTE_OWNER.utf8) + [0]
        let descriptor = Array(fingerprint.utf8) + [0]
        var note: [UInt8] = []
        for value in [UInt32(owner.count), UInt32(descriptor.count), PSL_NOTE_TYPE] { withUnsafeBytes(of: value.littleEndian) { note += $0 } }
        note += owner + [UInt8](repeating: 0, count: (4 - owner.count % 4) % 4)
        note += descriptor + [UInt8](repeating: 0, count: (4 - descriptor.count % 4) % 4)
        put(UInt32(4), at: 64)
        put(UInt64(bytes.count), at: 64 + 8)
        put(UInt64(note.count), at: 64 + 32)
        put(UInt64(4), at: 64 + 48)
        let path = directory + "/" + name
        try Data(bytes + note).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func digest(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(64))
    }

    func testSeal_hashesTheSealedBytes_andReadsTheFingerprint() throws {
        let path = try library(named: "libok.so")
        let sealed = try PluginLibraryStore().seal(PluginLibraryReference(path: path))
        XCTAssertEqual(sealed.sha256, try digest(path))
        XCTAssertEqual(sealed.fingerprint, PluginLibraryFingerprint.current)
        XCTAssertEqual(psl_is_sealed(sealed.descriptor.rawValue), 1)
    }

    func testSealedCopy_refusesWrites_evenThroughAWritableReopen() throws {
        let sealed = try PluginLibraryStore().seal(PluginLibraryReference(path: try library(named: "libsealed.so")))
        let writable = open("/proc/self/fd/\(sealed.descriptor.rawValue)", O_RDWR | O_CLOEXEC)
        if writable >= 0 {
            defer { close(writable) }
            XCTAssertEqual(write(writable, "x", 1), -1)
            XCTAssertEqual(errno, EPERM)
            XCTAssertEqual(ftruncate(writable, 0), -1)
        } else {
            XCTAssertEqual(errno, EACCES)
        }
    }

    func testUnchangedFile_isSealedOnce_aRewrittenOneAgain() throws {
        let path = try library(named: "libcached.so")
        let store = PluginLibraryStore()
        let first = try store.seal(PluginLibraryReference(path: path))
        XCTAssertTrue(try store.seal(PluginLibraryReference(path: path)) === first)
        try Data(try Data(contentsOf: URL(fileURLWithPath: path)) + [0]).write(to: URL(fileURLWithPath: path))
        let second = try store.seal(PluginLibraryReference(path: path))
        XCTAssertFalse(second === first)
        XCTAssertNotEqual(second.sha256, first.sha256)
    }

    func testMalformedPin_isRefusedNamingIt() throws {
        let path = try library(named: "libpin.so")
        XCTAssertThrowsError(try PluginLibraryStore().seal(PluginLibraryReference(path: path, sha256: "abc"))) { error in
            XCTAssertEqual((error as? PluginLibraryError)?.reason, .malformedDigest)
            XCTAssertEqual((error as? PluginLibraryError)?.actual, "abc")
        }
    }

    func testObjectForAnotherMachine_isIncompatible() throws {
        let path = try library(named: "libarm.so", machine: LibraryNote.hostMachine == 62 ? 183 : 62)
        XCTAssertThrowsError(try PluginLibraryStore().seal(PluginLibraryReference(path: path))) { error in
            let error = error as? PluginLibraryError
            XCTAssertEqual(error?.reason, .incompatible)
            XCTAssertTrue(error?.actual?.hasPrefix("an ELF object for") == true, "\(String(describing: error))")
        }
    }

    func testDirectory_isNotARegularFile() throws {
        XCTAssertThrowsError(try PluginLibraryStore().seal(PluginLibraryReference(path: directory))) { error in
            XCTAssertEqual((error as? PluginLibraryError)?.reason, .notARegularFile)
        }
    }

    func testSession_takesAtMostFourLibraries_andNotTheSameBytesTwice() throws {
        let path = try library(named: "libtwice.so")
        let copy = directory + "/libtwin.so"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        XCTAssertThrowsError(try PluginLibraryStore().seal([PluginLibraryReference(path: path), PluginLibraryReference(path: copy)])) { error in
            XCTAssertEqual((error as? PluginLibraryError)?.reason, .duplicate)
            XCTAssertEqual((error as? PluginLibraryError)?.path, copy)
        }
        let five = Array(repeating: PluginLibraryReference(path: path), count: SpawnRequest.maximumLibraries + 1)
        XCTAssertThrowsError(try PluginLibraryStore().seal(five)) { error in
            XCTAssertEqual((error as? PluginLibraryError)?.reason, .tooMany)
        }
    }

    func testNoteReader_neverTrapsOnMangledHeaders() throws {
        let path = try library(named: "libmangled.so")
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if Bool.random(using: &generator) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &generator)) }
            let size = bytes.count
            _ = LibraryNote.fingerprint(size: size) { offset, count in
                guard offset >= 0, count >= 0, offset <= size, count <= size - offset else { return nil }
                return Array(bytes[offset..<offset + count])
            }
        }
        XCTAssertEqual(try LibraryNote.fingerprint(size: original.count) { Array(original[$0..<min(original.count, $0 + $1)]) }.get(),
                       PluginLibraryFingerprint.current)
    }

    func testReference_commandLineForm() {
        XCTAssertEqual(PluginLibraryReference(argument: "/p/lib.so"), PluginLibraryReference(path: "/p/lib.so"))
        XCTAssertEqual(PluginLibraryReference(argument: "/p/lib@x.so@sha256:ab"), PluginLibraryReference(path: "/p/lib@x.so", sha256: "ab"))
        XCTAssertEqual(PluginLibraryReference(path: "/p/lib.so", sha256: "ab").description, "/p/lib.so@sha256:ab")
    }
}
