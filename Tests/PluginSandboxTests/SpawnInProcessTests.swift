import Foundation
import XCTest

@testable import PluginSandbox

/// Spawner behaviour observable from the (multi-threaded) test process itself: exec mode with the probe
/// as the worker executable, process handles, and the errors of unavailable paths.
final class SpawnInProcessTests: XCTestCase {
    private func execSpawner() throws -> WorkerSpawner {
        WorkerSpawner(mode: .exec, executable: try SpawnProbeRunner.executable)
    }

    private func request(_ session: String) -> SpawnRequest {
        SpawnRequest(sessionID: session, profile: SandboxProfile(name: "probe"))
    }

    func testExecSpawn_fromMultiThreadedProcess_workerAnswersOnSocketAndExitsCleanly() throws {
        let worker = try execSpawner().spawn(request("in-process"))
        defer { Self.release(worker) }
        XCTAssertEqual(worker.mode, .exec)
        XCTAssertEqual(try Self.readLine(worker.socket), "ready \(worker.pid)")
        try Self.writeLine(worker.socket, "echo from the test process")
        XCTAssertEqual(try Self.readLine(worker.socket), "from the test process")
        try Self.writeLine(worker.socket, "exit 0")
        XCTAssertEqual(try worker.process.waitForTermination(), .exited(0))
    }

    func testExecSpawn_fromThreadThatThenExits_workerOutlivesThatThread() throws {
        let spawner = try execSpawner()
        let box = SpawnResultBox()
        let request = request("short-lived-thread")
        // The thread stays until the worker announced itself (it has set its parent-death signal by then).
        let thread = Thread {
            box.result = Result {
                let worker = try spawner.spawn(request)
                box.ready = try Self.readLine(worker.socket)
                return worker
            }
        }
        thread.start()
        while !thread.isFinished { usleep(1_000) }
        usleep(200_000)  // the spawning thread is gone; a PDEATHSIG tied to it would have fired
        let worker = try XCTUnwrap(box.result).get()
        defer { Self.release(worker) }
        XCTAssertEqual(box.ready, "ready \(worker.pid)")
        XCTAssertNil(try worker.process.reap())
        try Self.writeLine(worker.socket, "echo still here")
        XCTAssertEqual(try Self.readLine(worker.socket), "still here")
    }

    func testExecSpawn_whenExecutableMissing_throwsPosixSpawnWithENOENT() {
        let spawner = WorkerSpawner(mode: .exec, executable: "/nonexistent/spawn-probe")
        XCTAssertThrowsError(try spawner.spawn(request("missing"))) { error in
            XCTAssertEqual(error as? SpawnError, SpawnError(step: .posixSpawn, errno: ENOENT))
        }
    }

    func testSpawn_whenEnvironmentNameContainsEquals_throwsEncodeRequestWithEINVAL() throws {
        var request = request("bad-environment")
        request.environment = ["A=B": "value"]
        XCTAssertThrowsError(try execSpawner().spawn(request)) { error in
            XCTAssertEqual(error as? SpawnError, SpawnError(step: .encodeRequest, errno: EINVAL))
        }
    }

    func testZygoteSpawn_whenNoZygoteStarted_throwsZygoteUnavailable() {
        XCTAssertFalse(WorkerBootstrap.zygoteIsRunning)
        XCTAssertThrowsError(try WorkerSpawner(mode: .zygote).spawn(request("no-zygote"))) { error in
            XCTAssertEqual((error as? SpawnError)?.step, .zygoteUnavailable)
        }
    }

    func testDefaultMode_whenNoZygoteStarted_isExec() {
        XCTAssertEqual(WorkerSpawner().mode, .exec)
    }

    func testProcessHandle_afterReap_signalThrowsESRCHAndReapRepeatsStatus() throws {
        let worker = try execSpawner().spawn(request("reaped"))
        defer { Self.release(worker) }
        XCTAssertEqual(try Self.readLine(worker.socket), "ready \(worker.pid)")
        try Self.writeLine(worker.socket, "exit 42")
        XCTAssertEqual(try worker.process.waitForTermination(), .exited(42))
        XCTAssertThrowsError(try worker.process.signal(SIGTERM)) { error in
            XCTAssertEqual(error as? SpawnError, SpawnError(step: .signal, errno: ESRCH))
        }
        XCTAssertEqual(try worker.process.reap(), .exited(42))
    }

    func testProcessHandle_afterClose_signalAndReapThrowClosed() throws {
        let worker = try execSpawner().spawn(request("closed"))
        try worker.process.signal(SIGKILL)
        _ = try worker.process.waitForTermination()
        worker.process.close()
        XCTAssertThrowsError(try worker.process.signal(SIGKILL)) { error in
            XCTAssertEqual((error as? SpawnError)?.step, .closed)
        }
        XCTAssertThrowsError(try worker.process.reap()) { error in
            XCTAssertEqual((error as? SpawnError)?.step, .closed)
        }
        for fd in [worker.socket, worker.output, worker.reports] { close(fd) }
    }

    func testExecWorker_whenLaunchPlanMissing_reportsStartFailureAndExits126() throws {
        var report: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&report), 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, report[1], WorkerChannels.reportSlot)
        let probe = try SpawnProbeRunner.executable
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup(probe), strdup(WorkerBootstrap.workerArgument), nil]
        defer { arguments.forEach { free($0) } }
        let environment: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        XCTAssertEqual(posix_spawn(&pid, probe, &actions, nil, arguments, environment), 0)
        close(report[1])
        defer { close(report[0]) }
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        XCTAssertEqual((status >> 8) & 0xff, WorkerBootstrap.confinementFailureExitCode)
        let line = try Self.readLine(report[0])
        let failure = try XCTUnwrap(WorkerStartFailure.parse(Array(line.utf8)))
        XCTAssertEqual(failure.stage, "plan")
    }

    func testWorkerIdentityPool_handsOutEachIdOnceThenWraps() {
        let pool = WorkerIdentityPool(range: 10..<13)
        let ids = (0..<4).map { _ in pool.next() }
        XCTAssertEqual(ids.map(\.uid), [10, 11, 12, 10])
        XCTAssertEqual(ids.map(\.gid), [10, 11, 12, 10])
    }

    func testSpawnError_description_namesStepAndErrno() {
        let description = SpawnError(step: .posixSpawn, errno: ENOENT).description
        XCTAssertTrue(description.contains("posixSpawn"), description)
        XCTAssertTrue(description.contains("errno \(ENOENT)"), description)
    }

    func testSpawnMode_name_roundTripsAndRejectsUnknown() {
        XCTAssertEqual(SpawnMode(name: "zygote"), .zygote)
        XCTAssertEqual(SpawnMode(name: "exec"), .exec)
        XCTAssertEqual(SpawnMode.exec.description, "exec")
        XCTAssertNil(SpawnMode(name: "fork"))
    }

    func testWorkerStartFailure_line_parsesBackToSameRecord() {
        let failure = WorkerStartFailure(stage: "confinement", detail: "layer seccomp failed")
        XCTAssertEqual(WorkerStartFailure.parse(failure.line().dropLast()), failure)
        XCTAssertNil(WorkerStartFailure.parse(Array(#"{"violation":"seccomp"}"#.utf8)))
    }

    // MARK: Line I/O on raw descriptors

    struct IOFailure: Error {
        var errno: Int32
    }

    static func writeLine(_ fd: Int32, _ text: String) throws {
        let bytes = Array((text + "\n").utf8)
        let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if written != bytes.count { throw IOFailure(errno: errno) }
    }

    static func readLine(_ fd: Int32, timeout: Int32 = 5_000) throws -> String {
        var line: [UInt8] = []
        while true {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, timeout) == 1 else { throw IOFailure(errno: ETIMEDOUT) }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else { throw IOFailure(errno: errno) }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    static func release(_ worker: SpawnedWorker) {
        if (try? worker.process.reap()) == nil {
            try? worker.process.signal(SIGKILL)
            _ = try? worker.process.waitForTermination()
        }
        for fd in [worker.socket, worker.output, worker.reports] { close(fd) }
        worker.process.close()
    }
}

/// Carries a spawn result out of a Thread; written before the thread finishes, read after `isFinished`.
private final class SpawnResultBox: @unchecked Sendable {
    var result: Result<SpawnedWorker, any Error>?
    var ready: String?
}
