#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// The repository's documents, read as the tests that keep them true need them.
enum Documents {
    /// The repository's root directory.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The text of `path`, relative to the repository's root.
    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// A fenced code block: its language and its lines, each ending in a newline (as in a file).
    struct CodeBlock: Equatable {
        var language: String
        var text: String
    }

    /// The fenced code blocks of `markdown`, in order; only those under the heading `section`
    /// (up to the next heading of the same or a higher level) when it is given.
    static func codeBlocks(in markdown: String, section: String? = nil) -> [CodeBlock] {
        var lines = markdown.components(separatedBy: "\n")[...]
        if let section {
            guard let start = lines.firstIndex(of: section) else { return [] }
            let level = section.prefix { $0 == "#" }.count
            lines = lines[(start + 1)...]
            if let end = lines.firstIndex(where: { line in
                let hashes = line.prefix { $0 == "#" }.count
                return hashes > 0 && hashes <= level && line.dropFirst(hashes).hasPrefix(" ")
            }) {
                lines = lines[..<end]
            }
        }
        var blocks: [CodeBlock] = []
        var open: CodeBlock?
        for line in lines {
            if var block = open {
                if line == "```" {
                    blocks.append(block)
                    open = nil
                } else {
                    block.text += line + "\n"
                    open = block
                }
            } else if line.hasPrefix("```") {
                open = CodeBlock(language: String(line.dropFirst(3)), text: "")
            }
        }
        return blocks
    }

    /// `output` with what differs between runs masked the same way in a program's output and in
    /// a document that quotes it: a log line's leading timestamp and every `pid=` value.
    static func masked(_ output: String) -> [String] {
        output.split(separator: "\n", omittingEmptySubsequences: true).map { line in
            String(line)
                .replacing(#/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4} /#, with: "<time> ")
                .replacing(#/pid=\d+/#, with: "pid=<pid>")
        }
    }

    /// The masked lines of `output` a document quotes: all but the supervisor's own notices, which
    /// depend on the machine (a low open-file limit, for one).
    static func quotable(_ output: String) -> [String] {
        masked(output).filter { !$0.hasPrefix("<time> notice ") }
    }
}

/// A program run to its end, its standard output and error captured in one file.
struct ProgramRun {
    var pid: Int32
    var status: Int32
    var reason: Process.TerminationReason
    var output: String

    /// Runs `executable` with `arguments` in `directory`; a program still running after `limit` is
    /// killed and reported as a test failure (a bound against hangs, not a measurement).
    static func run(_ executable: String, _ arguments: [String] = [], in directory: URL? = nil,
                    limit: Duration, file: StaticString = #filePath, line: UInt = #line) throws -> ProgramRun {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("program-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = ContinuousClock.now + limit
        while process.isRunning, ContinuousClock.now < deadline { usleep(50_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            XCTFail("\(executable) \(arguments.joined(separator: " ")) still ran after \(limit); output:\n\(output)", file: file, line: line)
            throw ProgramDidNotEnd()
        }
        process.waitUntilExit()
        return ProgramRun(pid: process.processIdentifier, status: process.terminationStatus, reason: process.terminationReason,
                          output: try String(contentsOf: log, encoding: .utf8))
    }

    /// The process ids this test process is the parent of.
    static func children() -> Set<Int32> {
        let me = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return Set(entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            // After "pid (comm) state ", the fourth field is the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == me
        })
    }
}

struct ProgramDidNotEnd: Error {}
