import Foundation
import SystemPackage
import XCTest

@testable import PluginSandbox

/// Spawner behaviour observable from the (multi-threaded) test process itself: exec mode with the probe
/// as the worker executable, process handles, and the errors of unavailable paths.
final class SpawnInProcessTests: XCTestCase {
    private func execSpawner() throws -> WorkerSpawner {
        try WorkerSpawner(mode: .exec, executable: try SpawnProbeRunner.executable)
    }

    private func request(_ session: String?) -> SpawnRequest {
        SpawnRequest(sessionID: session, profile: SandboxProfile(name: "probe"))
    }

    func testExecSpawn_fromMultiThreadedProcess_workerAnswersOnSocketAndExitsCleanly() async throws {
        let worker = try await execSpawner().spawn(request("in-process"))
        defer { Self.release(worker) }
        XCTAssertEqual(worker.mode, .exec)
        XCTAssertEqual(try Self.readLine(worker.socket), "ready \(worker.pid)")
        try Self.writeLine(worker.socket, "echo from the test process")
        XCTAssertEqual(try Self.readLine(worker.socket), "from the test process")
        try Self.writeLine(worker.socket, "exit 0")
        XCTAssertEqual(try worker.process.waitForTermination(), .exited(0))
    }

    func testExecSpawn_fromTaskThatThenEnds_workerOutlivesIt() async throws {
        let spawner = try execSpawner()
        let request = request("short-lived-task")
        // The spawning task ends at once; the spawn itself ran on the spawner's own thread.
        let worker = try await Task.detached { try await spawner.spawn(request) }.value
        defer { Self.release(worker) }
        XCTAssertEqual(try Self.readLine(worker.socket), "ready \(worker.pid)")
        try await Task.sleep(for: .milliseconds(200))
        XCTAssertNil(try worker.process.reap())
        try Self.writeLine(worker.socket, "echo still here")
        XCTAssertEqual(try Self.readLine(worker.socket), "still here")
    }

    func testExecSpawn_whenExecutableMissing_throwsPosixSpawnWithENOENT() async throws {
        let spawner = try WorkerSpawner(mode: .exec, executable: "/nonexistent/spawn-probe")
        do {
            _ = try await spawner.spawn(request("missing"))
            XCTFail("spawned a missing executable")
        } catch {
            XCTAssertEqual(error.step, .posixSpawn)
            XCTAssertEqual(error.errno, ENOENT)
        }
    }

    func testSpawn_whenEnvironmentNameContainsEquals_throwsEncodeRequestWithEINVAL() async throws {
        var request = request("bad-environment")
        request.environment = ["A=B": "value"]
        let spawner = try execSpawner()
        do {
            _ = try await spawner.spawn(request)
            XCTFail("spawned with a malformed environment")
        } catch {
            XCTAssertEqual(error.step, .encodeRequest)
            XCTAssertEqual(error.errno, EINVAL)
        }
    }

    func testSpawner_forOwnExecutableWithoutBootstrap_throwsNamingTheMissingCall() {
        XCTAssertFalse(WorkerBootstrap.isStarted)
        for mode in [nil, SpawnMode.zygote, .exec] {
            XCTAssertThrowsError(try WorkerSpawner(mode: mode)) { error in
                let spawnError = error as? SpawnError
                XCTAssertEqual(spawnError?.step, .bootstrapMissing)
                XCTAssertTrue("\(error)".contains("WorkerBootstrap.start must be the first statement of main"), "\(error)")
            }
        }
    }

    func testZygoteSpawn_whenNoZygoteStarted_throwsZygoteUnavailable() async throws {
        XCTAssertFalse(WorkerBootstrap.zygoteIsRunning)
        let spawner = try WorkerSpawner(mode: .zygote, executable: try SpawnProbeRunner.executable)
        do {
            _ = try await spawner.spawn(request("no-zygote"))
            XCTFail("spawned without a zygote")
        } catch {
            XCTAssertEqual(error.step, .zygoteUnavailable)
        }
    }

    func testDefaultMode_whenNoZygoteStarted_isExec() throws {
        XCTAssertEqual(try WorkerSpawner(executable: try SpawnProbeRunner.executable).mode, .exec)
    }

    func testProcessHandle_afterReap_signalThrowsESRCHAndReapRepeatsStatus() async throws {
        let worker = try await execSpawner().spawn(request("reaped"))
        defer { Self.release(worker) }
        XCTAssertEqual(try Self.readLine(worker.socket), "ready \(worker.pid)")
        try Self.writeLine(worker.socket, "exit 42")
        XCTAssertEqual(try worker.process.waitForTermination(), .exited(42))
        XCTAssertThrowsError(try worker.process.signal(SIGTERM)) { error in
            XCTAssertEqual(error as? SpawnError, SpawnError(step: .signal, errno: ESRCH))
        }
        XCTAssertEqual(try worker.process.reap(), .exited(42))
    }

    func testProcessHandle_afterClose_signalAndReapThrowClosed() async throws {
        let worker = try await execSpawner().spawn(request("closed"))
        try worker.process.signal(SIGKILL)
        _ = try worker.process.waitForTermination()
        worker.process.close()
        XCTAssertThrowsError(try worker.process.signal(SIGKILL)) { error in
            XCTAssertEqual((error as? SpawnError)?.step, .closed)
        }
        XCTAssertThrowsError(try worker.process.reap()) { error in
            XCTAssertEqual((error as? SpawnError)?.step, .closed)
        }
        for descriptor in [worker.socket, worker.output, worker.bootstrap] { try? descriptor.close() }
    }

    func testExecWorker_whenLaunchPlanMalformed_reportsPlanFailureOverBootstrapAndExits126() throws {
        let (supervisorEnd, workerEnd) = try Self.sequencedPair()
        defer { try? supervisorEnd.close() }
        let garbage = Array("not a plan".utf8)
        XCTAssertEqual(garbage.withUnsafeBytes { send(supervisorEnd.rawValue, $0.baseAddress, $0.count, 0) }, garbage.count)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, workerEnd.rawValue, WorkerChannels.Slot.bootstrap)
        let probe = try SpawnProbeRunner.executable
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup(probe), strdup(WorkerBootstrap.workerMarker), strdup("\(getpid())"), nil]
        defer { arguments.forEach { free($0) } }
        let environment: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        XCTAssertEqual(posix_spawn(&pid, probe, &actions, nil, arguments, environment), 0)
        try workerEnd.close()
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        XCTAssertEqual((status >> 8) & 0xff, WorkerBootstrap.confinementFailureExitCode)
        guard case .failed(let failure)? = try BootstrapMessage.receive(from: supervisorEnd) else {
            return XCTFail("no start failure on the bootstrap channel")
        }
        XCTAssertEqual(failure.stage, "plan")
    }

    func testSpawnError_description_namesStepErrnoAndDetail() {
        let description = SpawnError(step: .posixSpawn, errno: ENOENT, detail: "/nonexistent").description
        XCTAssertTrue(description.contains("posixSpawn"), description)
        XCTAssertTrue(description.contains("errno \(ENOENT)"), description)
        XCTAssertTrue(description.contains("/nonexistent"), description)
    }

    func testSpawnMode_name_roundTripsAndRejectsUnknown() {
        XCTAssertEqual(SpawnMode(name: "zygote"), .zygote)
        XCTAssertEqual(SpawnMode(name: "exec"), .exec)
        XCTAssertEqual(SpawnMode.exec.description, "exec")
        XCTAssertNil(SpawnMode(name: "fork"))
    }

    // MARK: Line I/O on raw descriptors

    struct IOFailure: Error {
        var errno: Int32
    }

    static func sequencedPair() throws -> (FileDescriptor, FileDescriptor) {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw IOFailure(errno: errno)
        }
        let supervisorEnd = FileDescriptor(rawValue: ends[0])
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        return (supervisorEnd, FileDescriptor(rawValue: ends[1]))
    }

    static func writeLine(_ descriptor: FileDescriptor, _ text: String) throws {
        let bytes = Array((text + "\n").utf8)
        let written = bytes.withUnsafeBytes { send(descriptor.rawValue, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if written != bytes.count { throw IOFailure(errno: errno) }
    }

    static func readLine(_ descriptor: FileDescriptor, timeout: Int32 = 5_000) throws -> String {
        var line: [UInt8] = []
        while true {
            var entry = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, timeout) == 1 else { throw IOFailure(errno: ETIMEDOUT) }
            var byte: UInt8 = 0
            guard read(descriptor.rawValue, &byte, 1) == 1 else { throw IOFailure(errno: errno) }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    static func release(_ worker: SpawnedWorker) {
        worker.discard()
    }
}
