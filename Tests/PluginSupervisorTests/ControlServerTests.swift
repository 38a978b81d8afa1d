#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginWire
import XCTest
@testable import PluginSupervisor

/// The control socket with a real client: permissions, framing, errors.
final class ControlServerTests: XCTestCase {
    private var reactor: Reactor!
    private var directory: String!

    override func setUpWithError() throws {
        reactor = try Reactor()
        directory = NSTemporaryDirectory() + "control-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        reactor.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func startServer() throws -> ControlServer {
        try ControlServer(path: directory + "/control.sock", reactor: reactor, logger: .init(label: "test")) { request, peer, reply in
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
    }

    func testSocketFile_isCreatedOwnerOnly() throws {
        let server = try startServer()
        defer { server.close() }
        var info = stat()
        XCTAssertEqual(stat(server.path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
    }

    func testRequest_getsItsReplyWithThePeersCredentials() throws {
        let server = try startServer()
        defer { server.close() }
        let client = try ControlClient(path: server.path)
        let reply = try client.send("echo", arguments: .object(["x": .int(1)]))
        XCTAssertNil(reply.error)
        XCTAssertEqual(reply.result, .object(["arguments": .object(["x": .int(1)]), "uid": .int(Int64(geteuid()))]))
    }

    func testStreamingCommand_deliversChunksThenTheFinalReply() throws {
        let server = try startServer()
        defer { server.close() }
        let client = try ControlClient(path: server.path)
        var chunks: [String] = []
        let reply = try client.send("stream") { chunks.append($0) }
        XCTAssertEqual(chunks, ["line 0\n", "line 1\n", "line 2\n"])
        XCTAssertTrue(reply.done)
    }

    func testMalformedRequest_getsAnErrorNamingItAndTheServerKeepsServing() throws {
        let server = try startServer()
        defer { server.close() }
        let client = try ControlClient(path: server.path)
        let reply = try client.sendRaw(FrameEncoder.encode(body: Array(#"{"id": "one"}"#.utf8)))
        XCTAssertEqual(reply.error?.code, "malformedRequest")
        let next = try ControlClient(path: server.path).send("echo")
        XCTAssertNil(next.error)
    }

    func testNoServer_errorSaysHowToStartOne() {
        XCTAssertThrowsError(try ControlClient(path: directory + "/absent.sock")) { error in
            guard let error = error as? ControlClientError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.reason, .notRunning)
            XCTAssertTrue(error.message.contains("sandboxctl serve"), error.message)
        }
    }
}
