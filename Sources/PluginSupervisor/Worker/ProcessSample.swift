#if canImport(Glibc)
import Glibc
#endif

/// One reading of a worker's resource use from `/proc`.
public struct ProcessSample: Sendable, Equatable, Codable {
    /// Resident set size in bytes (`/proc/PID/statm`).
    public var residentBytes: Int
    /// Proportional set size in bytes (`/proc/PID/smaps_rollup`), when read.
    public var proportionalBytes: Int?
    /// User + system CPU time consumed, in seconds (`/proc/PID/stat`).
    public var cpuSeconds: Double
    /// Threads in the process.
    public var threads: Int

    /// Creates a sample.
    public init(residentBytes: Int, proportionalBytes: Int? = nil, cpuSeconds: Double, threads: Int) {
        self.residentBytes = residentBytes
        self.proportionalBytes = proportionalBytes
        self.cpuSeconds = cpuSeconds
        self.threads = threads
    }

    /// Reads `pid`'s figures; nil when the process is gone. PSS is read only when asked, since
    /// `smaps_rollup` walks every mapping.
    public static func read(pid: Int32, includingProportional: Bool = false) -> ProcessSample? {
        guard let statm = readSmallFile("/proc/\(pid)/statm"),
              let stat = readSmallFile("/proc/\(pid)/stat")
        else { return nil }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let statmFields = statm.split(separator: " ")
        guard statmFields.count > 1, let residentPages = Int(statmFields[1]) else { return nil }
        // Fields after the parenthesised command name, which may itself hold spaces.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is state (field 3); utime is field 14, stime 15, num_threads 20.
        guard fields.count > 17,
              let utime = Double(fields[11]), let stime = Double(fields[12]), let threads = Int(fields[17])
        else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var pss: Int?
        if includingProportional, let rollup = readSmallFile("/proc/\(pid)/smaps_rollup") {
            for line in rollup.split(separator: "\n") where line.hasPrefix("Pss:") {
                let number = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
                pss = number.flatMap { Int($0) }.map { $0 * 1024 }
                break
            }
        }
        return ProcessSample(
            residentBytes: residentPages * pageSize,
            proportionalBytes: pss,
            cpuSeconds: (utime + stime) / ticks,
            threads: threads
        )
    }

    /// The number of open descriptors of `pid` (`/proc/PID/fd`), or nil if unreadable.
    public static func openDescriptorCount(pid: Int32) -> Int? {
        guard let directory = opendir("/proc/\(pid)/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                raw.first.map { $0 != UInt8(ascii: ".") } ?? false
            }
            if name { count += 1 }
        }
        return count
    }

    private static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        var used = 0
        while used < bytes.count {
            let count = bytes.withUnsafeMutableBytes { raw in
                Glibc.read(descriptor, raw.baseAddress! + used, raw.count - used)
            }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            used += count
        }
        return String(decoding: bytes[0..<used], as: UTF8.self)
    }
}
