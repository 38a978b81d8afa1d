import Foundation
import XCTest

/// No string of the supervisor's environment or arguments is readable anywhere in a worker's memory:
/// the zygote and exec'd workers start from a fresh exec with a clean environment and argv.
final class SecretScanTests: XCTestCase {
    func testWorkerMemory_holdsNoStringOfTheSupervisorsEnvironmentOrArguments() throws {
        for mode in ["zygote", "exec"] {
            let secret = "supervisor-secret-\(UUID().uuidString)"
            let control = "worker-control-\(UUID().uuidString)"
            var environment = ProcessInfo.processInfo.environment
            environment["PLUGIN_SANDBOX_TEST_TOKEN"] = secret
            let (host, started) = try SpawnProbeRunner.start("hold", mode, control, "--token=\(secret)", environment: environment)
            defer {
                host.terminate()
                host.waitUntilExit()
            }
            let worker = try XCTUnwrap((started["worker"] as? Int).map(Int32.init))
            XCTAssertEqual(started["mode"] as? String, mode)
            let found = try MemoryScan.search(pid: worker, for: [secret, control])
            XCTAssertTrue(found.contains(control), "the scan finds the string the worker was given on purpose (\(mode))")
            XCTAssertFalse(found.contains(secret), "the supervisor's secret is in the worker's memory (\(mode))")
        }
    }
}

/// Reads every readable mapping of a process (as root, through /proc/PID/maps and /proc/PID/mem).
enum MemoryScan {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Which of `needles` occur anywhere in the readable memory of `pid`.
    static func search(pid: Int32, for needles: [String]) throws -> Set<String> {
        let maps = try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)
        let memory = open("/proc/\(pid)/mem", O_RDONLY)
        guard memory >= 0 else { throw Failure(description: "cannot open /proc/\(pid)/mem: errno \(errno)") }
        defer { close(memory) }
        let patterns = needles.map { Array($0.utf8) }
        let overlap = (patterns.map(\.count).max() ?? 1) - 1
        var found: Set<String> = []
        var scanned = 0
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[1].hasPrefix("r") else { continue }
            let bounds = fields[0].split(separator: "-").compactMap { UInt64($0, radix: 16) }
            guard bounds.count == 2 else { continue }
            var offset = bounds[0]
            var carried: [UInt8] = []
            while offset < bounds[1] {
                let length = Int(min(UInt64(1 << 20), bounds[1] - offset))
                var chunk = [UInt8](repeating: 0, count: length)
                let count = chunk.withUnsafeMutableBytes { pread(memory, $0.baseAddress, length, off_t(offset)) }
                guard count > 0 else { break }  // [vvar] and guard pages cannot be read
                scanned += count
                let window = carried + chunk[0..<count]
                for (index, pattern) in patterns.enumerated() where contains(window, pattern) { found.insert(needles[index]) }
                carried = Array(window.suffix(overlap))
                offset += UInt64(count)
            }
        }
        guard scanned > 0 else { throw Failure(description: "nothing of /proc/\(pid)/mem could be read") }
        return found
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return false }
        return haystack.withUnsafeBytes { bytes in
            needle.withUnsafeBytes { pattern in
                guard let base = bytes.baseAddress, let patternBase = pattern.baseAddress else { return false }
                var offset = 0
                let last = bytes.count - pattern.count
                while offset <= last {
                    guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else { return false }
                    let position = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + position, patternBase, pattern.count) == 0 { return true }
                    offset = position + 1
                }
                return false
            }
        }
    }
}
