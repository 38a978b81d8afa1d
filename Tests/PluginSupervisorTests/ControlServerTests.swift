#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import PluginWire
import XCTest
@testable import PluginSupervisor

/// The control socket with a real client: permissions, framing, errors, one supervisor per socket.
final class ControlServerTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "control-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static let handler: ControlServer.Handler = { request, peer, reply in
        switch request.command {
        case "echo":
            _ = reply(.success(request.id, .object(["arguments": request.arguments, "uid": .int(Int64(peer.uid))])))
        case "stream":
            for index in 0..<3 { _ = reply(.chunk(request.id, "line \(index)\n")) }
            _ = reply(.success(request.id, .null))
        default:
            _ = reply(.failure(request.id, ControlFailure(code: "unknownCommand", message: "unknown command '\(request.command)'")))
        }
    }

    /// Serves a control socket at `path` while `body` runs; closes it after.
    private func withServer(at path: String? = nil, _ body: (ControlServer) async throws -> Void) async throws {
        let loop = try EventLoop(name: "control-test")
        let server = try await ControlServer(path: path ?? directory + "/control.sock", loop: loop, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await server.run(Self.handler) }
            do {
                try await body(server)
            } catch {
                await server.close()
                throw error
            }
            await server.close()
            try await group.waitForAll()
        }
        await loop.shutdown()
    }

    func testSocketFile_isCreatedOwnerOnly() async throws {
        try await withServer { server in
            var info = stat()
            XCTAssertEqual(stat(server.path, &info), 0)
            XCTAssertEqual(info.st_mode & 0o777, 0o600)
        }
    }

    func testRequest_getsItsReplyWithThePeersCredentials() async throws {
        try await withServer { server in
            let reply = try await offThread { try ControlClient(path: server.path).send("echo", arguments: .object(["x": .int(1)])) }
            XCTAssertNil(reply.error)
            XCTAssertEqual(reply.result, .object(["arguments": .object(["x": .int(1)]), "uid": .int(Int64(geteuid()))]))
        }
    }

    func testStreamingCommand_deliversChunksThenTheFinalReply() async throws {
        try await withServer { server in
            let (chunks, reply) = try await offThread { () throws -> ([String], ControlReply) in
                var chunks: [String] = []
                let reply = try ControlClient(path: server.path).send("stream") { chunks.append($0) }
                return (chunks, reply)
            }
            XCTAssertEqual(chunks, ["line 0\n", "line 1\n", "line 2\n"])
            XCTAssertTrue(reply.done)
        }
    }

    func testMalformedRequest_getsAnErrorNamingItAndTheServerKeepsServing() async throws {
        try await withServer { server in
            let reply = try await offThread { try ControlClient(path: server.path).sendRaw(FrameEncoder.encode(body: Array(#"{"id": "one"}"#.utf8))) }
            XCTAssertEqual(reply.error?.code, "malformedRequest")
            let next = try await offThread { try ControlClient(path: server.path).send("echo") }
            XCTAssertNil(next.error)
        }
    }

    func testSecondServer_onALiveSocket_isRefusedNamingThePid() async throws {
        try await withServer { server in
            let loop = try EventLoop(name: "second")
            do {
                _ = try await ControlServer(path: server.path, loop: loop, logger: Logger(label: "test"))
                XCTFail("a second supervisor must not take over a live socket")
            } catch let error as ControlServerError {
                XCTAssertTrue(error.message.contains("pid \(getpid())"), error.message)
                XCTAssertTrue(error.message.contains("already serving"), error.message)
            }
            await loop.shutdown()
            let reply = try await offThread { try ControlClient(path: server.path).send("echo") }
            XCTAssertNil(reply.error, "the first supervisor keeps its socket")
        }
    }

    func testStaleSocketFile_isReplaced() async throws {
        let path = directory + "/stale.sock"
        // A socket file nobody listens on any more (its server died without removing it).
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: Array(path.utf8) + [0]) }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(stale)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        try await withServer(at: path) { server in
            let reply = try await offThread { try ControlClient(path: server.path).send("echo") }
            XCTAssertNil(reply.error)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the server removes the socket it created")
    }

    func testClose_leavesASocketFileThatIsNoLongerItsOwn() async throws {
        let path = directory + "/moved.sock"
        try await withServer(at: path) { _ in
            // Someone replaced the file while the server ran (say, another supervisor after a move).
            try FileManager.default.removeItem(atPath: path)
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("not ours".utf8)))
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "close must not remove a file it did not create")
    }

    func testNoServer_errorSaysHowToStartOne() {
        XCTAssertThrowsError(try ControlClient(path: directory + "/absent.sock")) { error in
            guard let error = error as? ControlClientError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.reason, .notRunning)
            XCTAssertTrue(error.message.contains("sandboxctl serve"), error.message)
        }
    }
}

/// Runs blocking work (the blocking control client) on a thread of its own, off the cooperative pool.
func offThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result<Value, any Error> { try body() }) }.start()
    }
}
