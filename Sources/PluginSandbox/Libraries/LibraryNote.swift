import CPluginLibrary

/// Reads the fingerprint a plugin library declares in its ELF note, from the file's bytes alone:
/// nothing is mapped and none of the library's code runs.
///
/// Every offset and size comes from the file, so every one is checked against the file's size
/// before it is used; a malformed file is a ``Problem``, never a trap.
enum LibraryNote {
    /// Why no fingerprint could be read.
    enum Problem: Error, Equatable {
        /// Not a 64-bit little-endian ELF shared object, or one whose headers do not fit the file.
        case notAnELFSharedObject(String)
        /// An ELF object for another machine.
        case otherMachine(UInt16)
        /// No PluginSandbox note among the object's notes.
        case noNote
    }

    /// The ELF machine of this build (EM_X86_64 or EM_AARCH64).
    static var hostMachine: UInt16 {
        #if arch(x86_64)
        return 62
        #elseif arch(arm64)
        return 183
        #else
        return 0
        #endif
    }

    /// A machine number as a name, for messages.
    static func machineName(_ machine: UInt16) -> String {
        switch machine {
        case 62: return "x86_64"
        case 183: return "aarch64"
        case 3: return "i386"
        case 40: return "arm"
        default: return "ELF machine \(machine)"
        }
    }

    /// The largest note segment read.
    static let maximumNoteBytes = 64 * 1024

    /// The fingerprint in the file of `size` bytes that `read(offset, count)` reads from (nil when
    /// those bytes cannot be read).
    static func fingerprint(size: Int, read: (Int, Int) -> [UInt8]?) -> Result<String, Problem> {
        guard size >= 64, let header = read(0, 64), header.count == 64 else { return .failure(.notAnELFSharedObject("shorter than an ELF header")) }
        guard header[0] == 0x7F, header[1] == UInt8(ascii: "E"), header[2] == UInt8(ascii: "L"), header[3] == UInt8(ascii: "F") else {
            return .failure(.notAnELFSharedObject("no ELF magic"))
        }
        guard header[4] == 2, header[5] == 1 else { return .failure(.notAnELFSharedObject("not a 64-bit little-endian object")) }
        guard little16(header, 16) == 3 else { return .failure(.notAnELFSharedObject("not a shared object (e_type \(little16(header, 16)))")) }
        let machine = little16(header, 18)
        guard machine == hostMachine else { return .failure(.otherMachine(machine)) }
        let tableOffset = little64(header, 32)
        let entrySize = Int(little16(header, 54))
        let count = Int(little16(header, 56))
        guard entrySize >= 56, count > 0, count <= 512, tableOffset <= UInt64(size),
              let table = read(Int(tableOffset), entrySize * count), table.count == entrySize * count else {
            return .failure(.notAnELFSharedObject("its program headers do not fit the file"))
        }
        for index in 0..<count {
            let entry = index * entrySize
            guard little32(table, entry) == 4 else { continue }  // PT_NOTE
            let offset = little64(table, entry + 8)
            let length = little64(table, entry + 32)
            let alignment = little64(table, entry + 48) == 8 ? 8 : 4
            guard length <= UInt64(maximumNoteBytes), offset <= UInt64(size), length <= UInt64(size) - offset,
                  let notes = read(Int(offset), Int(length)), notes.count == Int(length) else { continue }
            if let fingerprint = pluginSandboxNote(in: notes, alignment: alignment) { return .success(fingerprint) }
        }
        return .failure(.noNote)
    }

    /// The descriptor of the PluginSandbox note among `notes`, up to its NUL.
    private static func pluginSandboxNote(in notes: [UInt8], alignment: Int) -> String? {
        let owner = Array(PSL_NOTE_OWNER.utf8) + [0]
        var cursor = 0
        while notes.count - cursor >= 12 {
            let ownerSize = Int(little32(notes, cursor))
            let descriptorSize = Int(little32(notes, cursor + 4))
            let type = little32(notes, cursor + 8)
            let ownerStart = cursor + 12
            guard ownerSize <= notes.count - ownerStart, descriptorSize <= notes.count else { return nil }
            let descriptorStart = ownerStart + padded(ownerSize, to: alignment)
            guard descriptorStart <= notes.count, descriptorSize <= notes.count - descriptorStart else { return nil }
            if type == PSL_NOTE_TYPE, Array(notes[ownerStart..<ownerStart + ownerSize]) == owner {
                let descriptor = notes[descriptorStart..<descriptorStart + descriptorSize].prefix { $0 != 0 }
                return String(decoding: descriptor, as: UTF8.self)
            }
            cursor = descriptorStart + padded(descriptorSize, to: alignment)
        }
        return nil
    }

    private static func padded(_ value: Int, to alignment: Int) -> Int {
        (value + alignment - 1) / alignment * alignment
    }

    private static func little16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private static func little32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    private static func little64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }
}
