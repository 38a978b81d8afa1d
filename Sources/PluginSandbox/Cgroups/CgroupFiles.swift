import PluginSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// File operations on cgroupfs, each failure a ``CgroupError`` naming the path and the errno.
enum CgroupFiles {
    /// Creates the group `path` (mode 0755).
    static func makeDirectory(_ path: String) throws(CgroupError) {
        do {
            _ = try systemCall("mkdir") { mkdir(path, 0o755) == 0 ? 0 : -Glibc.errno }
        } catch {
            throw CgroupError(.createGroup, path: path, errno: error.errno)
        }
    }

    /// Removes the empty group `path`; nil when it is gone, the errno otherwise (EBUSY while tasks remain).
    static func removeDirectory(_ path: String) -> Errno? {
        do {
            _ = try systemCall("rmdir") { rmdir(path) == 0 ? 0 : -Glibc.errno }
            return nil
        } catch {
            return error.errno == .noSuchFileOrDirectory ? nil : error.errno
        }
    }

    /// Opens a control file (close-on-exec) and returns its raw descriptor.
    static func open(_ path: String, _ mode: FileDescriptor.AccessMode, directory: Bool = false) throws(CgroupError) -> Int32 {
        do {
            let options: FileDescriptor.OpenOptions = directory ? [.closeOnExec, .directory] : [.closeOnExec]
            return try FileDescriptor.open(FilePath(path), mode, options: options).rawValue
        } catch {
            throw CgroupError(.open, path: path, errno: error as? Errno)
        }
    }

    /// Closes a descriptor this module opened.
    static func close(_ descriptor: Int32) {
        FileDescriptor(rawValue: descriptor).closeAfterUse()
    }

    /// Whether `path` exists (a control file a kernel may not have, e.g. `memory.swap.max`).
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Writes `value` to the control file `path` in one `write`.
    static func write(_ value: String, to path: String) throws(CgroupError) {
        let descriptor = try open(path, .writeOnly)
        defer { FileDescriptor(rawValue: descriptor).closeAfterUse() }
        try write(value, descriptor: descriptor, path: path)
    }

    /// Writes `value` to an open control file in one `write` (the kernel parses each write whole).
    static func write(_ value: String, descriptor: Int32, path: String) throws(CgroupError) {
        do {
            var bytes = Array(value.utf8)
            let written = try bytes.withUnsafeMutableBytes { try FileDescriptor(rawValue: descriptor).write(UnsafeRawBufferPointer($0)) }
            if written != bytes.count {
                throw CgroupError(.write, path: path, detail: "short write of '\(value)': \(written) of \(bytes.count) bytes")
            }
        } catch let error as CgroupError {
            throw error
        } catch {
            throw CgroupError(.write, path: path, errno: error as? Errno, detail: "value '\(value)'")
        }
    }

    /// Reads a small text file whole (`/proc/self/*`, `cgroup.procs`, `cgroup.controllers`).
    static func readText(_ path: String, operation: CgroupError.Operation = .read) throws(CgroupError) -> String {
        let descriptor: Int32
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]).rawValue
        } catch {
            throw CgroupError(operation, path: path, errno: error as? Errno)
        }
        let file = FileDescriptor(rawValue: descriptor)
        defer { file.closeAfterUse() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count: Int
            do {
                count = try chunk.withUnsafeMutableBytes { try file.read(into: $0) }
            } catch {
                throw CgroupError(operation, path: path, errno: error as? Errno)
            }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The pids listed in a group's `cgroup.procs`.
    static func processes(in directory: String) throws(CgroupError) -> [Int32] {
        try readText(directory + "/cgroup.procs").split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    }

    /// The names of the subdirectories (child groups) of `directory`.
    static func childGroups(of directory: String) throws(CgroupError) -> [String] {
        guard let stream = opendir(directory) else {
            throw CgroupError(.read, path: directory, errno: Errno(rawValue: Glibc.errno))
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// When `path` last changed status (creation, for a cgroup directory), in seconds since the epoch.
    static func statusChangeTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9
    }
}

/// A control file kept open for cheap readings: one `pread` at offset 0 regenerates it.
struct CgroupCounter: Sendable {
    /// How the file holds its figure.
    enum Format: Sendable {
        /// A single number (or `max`), times `scale`.
        case number(scale: UInt64)
        /// The number on the line starting with `key`, times `scale` (`memory.events`, `cpu.stat`).
        case keyed(String, scale: UInt64)
    }

    let descriptor: Int32
    let path: String
    let format: Format

    /// Opens `path` read-only.
    init(path: String, format: Format) throws(CgroupError) {
        self.descriptor = try CgroupFiles.open(path, .readOnly)
        self.path = path
        self.format = format
    }

    /// Reads the figure (UInt64.max for `max`).
    func read() throws(CgroupError) -> UInt64 {
        let outcome: Result<UInt64?, Errno> = withUnsafeTemporaryAllocation(byteCount: 512, alignment: 8) { buffer in
            do {
                let count = try FileDescriptor(rawValue: descriptor).read(fromAbsoluteOffset: 0, into: buffer)
                return .success(Self.parse(UnsafeRawBufferPointer(rebasing: buffer[..<count]), format: format))
            } catch {
                return .failure(error as? Errno ?? .ioError)
            }
        }
        switch outcome {
        case .success(let value?): return value
        case .success(nil): throw CgroupError(.parse, path: path, detail: "no figure in the file")
        case .failure(let errno): throw CgroupError(.read, path: path, errno: errno)
        }
    }

    func close() { CgroupFiles.close(descriptor) }

    static func parse(_ bytes: UnsafeRawBufferPointer, format: Format) -> UInt64? {
        switch format {
        case .number(let scale):
            return number(bytes[...]).map { $0 == .max ? .max : $0 &* scale }
        case .keyed(let key, let scale):
            let key = Array(key.utf8) + [UInt8(ascii: " ")]
            var start = bytes.startIndex
            while start < bytes.endIndex {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
                let line = bytes[start..<end]
                if line.starts(with: key) { return number(line.dropFirst(key.count)).map { $0 &* scale } }
                start = end + 1
            }
            return nil
        }
    }

    private static func number(_ text: Slice<UnsafeRawBufferPointer>) -> UInt64? {
        let digits = text.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: " ") }
        if digits.elementsEqual("max".utf8) { return .max }
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            if overflow || carry { return nil }
            value = sum
        }
        return value
    }
}
