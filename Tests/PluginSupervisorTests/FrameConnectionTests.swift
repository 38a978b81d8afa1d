#if canImport(Glibc)
import Glibc
#endif
import PluginWire
import Synchronization
import XCTest
@testable import PluginSupervisor

/// The supervisor's framed connection over a real socketpair: what a worker can do to it.
final class FrameConnectionTests: XCTestCase {
    private var reactor: Reactor!

    override func setUpWithError() throws {
        reactor = try Reactor()
    }

    override func tearDown() {
        reactor.shutdown()
    }

    private func socketPair() throws -> (supervisor: Int32, worker: Int32) {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds), 0)
        return (fds[0], fds[1])
    }

    private final class Inbox: Sendable {
        let messages = Mutex<[WireMessage]>([])
        let end = Mutex<ConnectionEnd?>(nil)
        func wait(for count: Int, timeout: TimeInterval = 5) -> [WireMessage] {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let current = messages.withLock { $0 }
                if current.count >= count { return current }
                usleep(1000)
            }
            return messages.withLock { $0 }
        }
        func waitForEnd(timeout: TimeInterval = 5) -> ConnectionEnd? {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let end = end.withLock({ $0 }) { return end }
                usleep(1000)
            }
            return nil
        }
    }

    private func connect(_ descriptor: Int32, maximumQueuedBytes: Int = 1 << 20, inbox: Inbox) throws -> FrameConnection<WireMessage> {
        let connection = try FrameConnection<WireMessage>(
            descriptor: descriptor, reactor: reactor, maximumFrameLength: 1 << 16, maximumQueuedBytes: maximumQueuedBytes,
            decode: { try MessageCodec.decode(body: $0) },
            onMessage: { message in inbox.messages.withLock { $0.append(message) } },
            onEnd: { end in inbox.end.withLock { $0 = end } })
        try connection.start()
        return connection
    }

    private func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            XCTAssertGreaterThan(written, 0)
            offset += written
        }
    }

    func testFramesSplitAcrossWrites_areDeliveredWholeAndInOrder() throws {
        let (supervisorEnd, workerEnd) = try socketPair()
        defer { close(workerEnd) }
        let inbox = Inbox()
        let connection = try connect(supervisorEnd, inbox: inbox)
        defer { connection.close() }
        var stream: [UInt8] = []
        for index in 0..<200 {
            stream += MessageCodec.encodeFrame(.ping(Ping(id: UInt64(index))))
        }
        var offset = 0
        var chunk = 1
        while offset < stream.count {
            let end = min(stream.count, offset + chunk)
            writeAll(workerEnd, Array(stream[offset..<end]))
            offset = end
            chunk = chunk % 37 + 3
        }
        let received = inbox.wait(for: 200)
        XCTAssertEqual(received, (0..<200).map { WireMessage.ping(Ping(id: UInt64($0))) })
        XCTAssertEqual(connection.frameCounts.received, 200)
    }

    func testGarbageBytes_endTheConnectionAsBreachNamingTheProblem() throws {
        let (supervisorEnd, workerEnd) = try socketPair()
        defer { close(workerEnd) }
        let inbox = Inbox()
        let connection = try connect(supervisorEnd, inbox: inbox)
        writeAll(workerEnd, FrameEncoder.encode(body: Array("not json at all".utf8)))
        guard case .breach(let detail) = withExtendedLifetime(connection, { inbox.waitForEnd() }) else { return XCTFail("expected a breach") }
        XCTAssertTrue(detail.lowercased().contains("json"), detail)
    }

    func testOversizedLength_endsTheConnectionBeforeTheBodyArrives() throws {
        let (supervisorEnd, workerEnd) = try socketPair()
        defer { close(workerEnd) }
        let inbox = Inbox()
        let connection = try connect(supervisorEnd, inbox: inbox)
        writeAll(workerEnd, [0x7f, 0xff, 0xff, 0xff])
        guard case .breach(let detail) = withExtendedLifetime(connection, { inbox.waitForEnd() }) else { return XCTFail("expected a breach") }
        XCTAssertTrue(detail.contains("2147483647"), detail)
    }

    func testPeerClosing_endsTheConnectionAsClosed() throws {
        let (supervisorEnd, workerEnd) = try socketPair()
        let inbox = Inbox()
        let connection = try connect(supervisorEnd, inbox: inbox)
        close(workerEnd)
        XCTAssertEqual(withExtendedLifetime(connection) { inbox.waitForEnd() }, .closed)
    }

    func testPeerThatNeverReads_endsTheConnectionAtTheQueueBoundInsteadOfBlocking() throws {
        let (supervisorEnd, workerEnd) = try socketPair()
        defer { close(workerEnd) }
        let inbox = Inbox()
        let connection = try connect(supervisorEnd, maximumQueuedBytes: 256 * 1024, inbox: inbox)
        let payload = JSONValue.string(String(repeating: "x", count: 16 * 1024))
        var sent = 0
        let started = Date()
        while connection.send(.log(LogRecord(level: "info", message: "\(payload)"))) {
            sent += 1
            if sent > 10_000 { break }
        }
        XCTAssertLessThan(sent, 10_000, "sending never failed although the peer never read")
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
        guard case .outboundOverflow(let bytes) = inbox.waitForEnd() else { return XCTFail("expected an overflow") }
        XCTAssertGreaterThan(bytes, 256 * 1024)
    }

    func testSend_reachesThePeerAsOneFrame() throws {
        let (supervisorEnd, workerEnd) = try socketPair()
        defer { close(workerEnd) }
        let inbox = Inbox()
        let connection = try connect(supervisorEnd, inbox: inbox)
        defer { connection.close() }
        XCTAssertTrue(connection.send(.bye(Bye(reason: "done"))))
        var decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(workerEnd, $0.baseAddress, $0.count) }
        decoder.append(buffer[0..<count])
        let body = try XCTUnwrap(try decoder.nextFrame())
        XCTAssertEqual(try MessageCodec.decode(body: body), .bye(Bye(reason: "done")))
    }
}
