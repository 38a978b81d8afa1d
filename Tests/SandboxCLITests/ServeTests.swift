#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// `serve` as a service: one supervisor per socket, readiness and stopping notifications, JSON
/// logs, worker titles, and an installed binary that runs from any directory.
final class ServeTests: CLITestCase {
    func testSecondServe_isRefusedNamingThePid_andTheFirstKeepsItsSocket() throws {
        let first = try startDaemon()
        XCTAssertEqual(try ctl(["spawn", "--id", "kept"]).status, 0)
        let second = try run(["serve", "--socket", socket])
        XCTAssertEqual(second.status, 1, second.error)
        XCTAssertTrue(second.error.contains("a supervisor (pid \(first.processIdentifier)) is already serving on \(socket)"), second.error)
        XCTAssertEqual(second.error.split(separator: "\n").count, 1, "the refused serve built a runtime first: \(second.error)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: socket), "the refused serve removed the live supervisor's socket")
        let listed = try ctl(["ls", "-q"])
        XCTAssertEqual(listed.output, "kept\n", listed.error)
    }

    func testSIGTERM_removesOnlyItsOwnSocket() throws {
        let daemon = try startDaemon()
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        XCTAssertEqual(daemon.terminationStatus, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "serve left its socket behind")
    }

    func testReadiness_isNotifiedOnTheNotifySocket_thenStopping() throws {
        let notify = try NotifySocket(path: directory + "/notify.sock")
        let daemon = try startDaemon(environment: ["NOTIFY_SOCKET": notify.path])
        let ready = try XCTUnwrap(notify.receive(timeout: patience), "no readiness datagram")
        XCTAssertTrue(ready.split(separator: "\n").contains("READY=1"), ready)
        XCTAssertTrue(ready.contains("MAINPID=\(daemon.processIdentifier)"), ready)
        kill(daemon.processIdentifier, SIGTERM)
        let stopping = try XCTUnwrap(notify.receive(timeout: patience), "no stopping datagram")
        XCTAssertTrue(stopping.split(separator: "\n").contains("STOPPING=1"), stopping)
        daemon.waitUntilExit()
        XCTAssertEqual(daemon.terminationStatus, 0)
    }

    func testSystemdUnit_isTypeNotify_andItsCommandLineServesAndNotifies() throws {
        let unit = try String(contentsOf: repository.appendingPathComponent("Sandbox/systemd/sandboxctl.service"), encoding: .utf8)
        let lines = unit.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("Type=notify"), unit)
        XCTAssertTrue(lines.contains("KillMode=mixed"), unit)
        let command = try XCTUnwrap(lines.first { $0.hasPrefix("ExecStart=") }).dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
        XCTAssertEqual(Array(command.prefix(2)), ["/usr/local/bin/sandboxctl", "serve"])
        // The unit's own arguments, with this test's socket in place of /run/sandboxctl.sock.
        var arguments = Array(command.dropFirst(2))
        let socketIndex = try XCTUnwrap(arguments.firstIndex(of: "--socket"))
        arguments.removeSubrange(socketIndex...socketIndex + 1)
        let notify = try NotifySocket(path: directory + "/notify.sock")
        let daemon = try startDaemon(arguments, environment: ["NOTIFY_SOCKET": notify.path])
        XCTAssertNotNil(try notify.receive(timeout: patience), "no readiness datagram")
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        XCTAssertEqual(daemon.terminationStatus, 0)
        let log = String(decoding: daemonLog.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(log.split(separator: "\n").allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil }, log)
    }

    func testJSONLogFormat_writesOneParsableObjectPerLine() throws {
        let daemon = try startDaemon(["--log-format", "json", "--log-level", "info"])
        XCTAssertEqual(try ctl(["spawn", "--id", "logged"]).status, 0)
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        let text = String(decoding: daemonLog.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let lines = text.split(separator: "\n")
        XCTAssertFalse(lines.isEmpty)
        var messages: [String] = []
        for line in lines {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            XCTAssertNotNil(object["time"] as? String, String(line))
            XCTAssertNotNil(object["level"] as? String, String(line))
            messages.append(object["message"] as? String ?? "")
        }
        XCTAssertTrue(messages.contains("supervisor listening"), "\(messages)")
        XCTAssertTrue(lines.contains { $0.contains(#""session":"logged""#) }, text)
    }

    func testWorkerProcessTitle_namesTheSessionInPs() throws {
        try startDaemon()
        XCTAssertEqual(try ctl(["spawn", "--id", "titled-1"]).status, 0)
        let pid = try XCTUnwrap(try sessions().first?["pid"] as? Int)
        let ps = Process()
        ps.executableURL = URL(fileURLWithPath: "/usr/bin/ps")
        ps.arguments = ["-o", "args=", "-p", "\(pid)"]
        let output = Pipe()
        ps.standardOutput = output
        try ps.run()
        let title = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ps.waitUntilExit()
        XCTAssertEqual(title.trimmingCharacters(in: .whitespacesAndNewlines), "sandbox-worker titled-1")
    }

    func testInstalledBinary_runsFromAnotherDirectoryWithBuiltInProfiles() throws {
        let bin = directory + "/install/bin"
        let elsewhere = directory + "/elsewhere"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let installed = bin + "/sandboxctl"
        try FileManager.default.copyItem(atPath: try executable, toPath: installed)
        var environment = ProcessInfo.processInfo.environment
        environment["PLUGINSANDBOX_PROFILES"] = nil

        let doctor = try run(["doctor"], environment: environment, executable: installed, in: elsewhere)
        XCTAssertEqual(doctor.status, 0, doctor.output + doctor.error)
        let demo = try run(["demo", "--sessions", "2"], environment: environment, executable: installed, in: elsewhere)
        XCTAssertEqual(demo.status, 0, demo.output + demo.error)
        XCTAssertTrue(demo.output.contains("the fault was contained"), demo.output)

        let missing = try run(["doctor", "--profile", "nosuch"], environment: environment, executable: installed, in: elsewhere)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.error.contains("PLUGINSANDBOX_PROFILES"), missing.error)

        try startDaemon(executable: installed, in: elsewhere)
        let spawned = try run(["spawn", "--socket", socket, "--id", "installed"], executable: installed, in: elsewhere)
        XCTAssertEqual(spawned.status, 0, spawned.error)
        XCTAssertEqual(try sessions().first?["profile"] as? String, "default")
    }
}

/// A Unix datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
final class NotifySocket {
    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// The next datagram, or nil after `timeout` seconds.
    func receive(timeout: TimeInterval) throws -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}
