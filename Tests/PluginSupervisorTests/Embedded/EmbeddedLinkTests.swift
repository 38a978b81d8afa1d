#if canImport(Glibc)
import Glibc
#endif
import PluginSandbox
import PluginWire
import XCTest
@testable import PluginSupervisor

/// The supervisor's side of one worker, driven in memory: every byte a hostile worker could send,
/// and every way it could end, against a ``WorkerLink`` over an ``EmbeddedTransport``. No process,
/// no socket; the same link code the real-process tests run.
private func payload(_ json: String) -> RawJSON { try! RawJSON(validating: Array(json.utf8)) }

final class EmbeddedLinkTests: XCTestCase {
    func testHandshake_coldWorker_getsItsWelcomeAndStarts() async throws {
        let embedded = try EmbeddedLink()
        await embedded.handshake(plugins: ["editor"])
        let (welcome, started, isReady) = await embedded.run { link, transport, owner in
            (transport.sent.first, owner.started, link.machine.servesCalls)
        }
        guard case .welcome(let message) = welcome else { return XCTFail("expected a welcome first, got \(String(describing: welcome))") }
        XCTAssertEqual(message.sessionID, "doc-1")
        XCTAssertEqual(started.map(\.attachedPlugins), [["editor"]])
        XCTAssertTrue(isReady)
        let ready = await embedded.link.awaitReady()
        XCTAssertEqual(try ready.get().attachedPlugins, ["editor"])
        await embedded.shutdown()
    }

    func testSpare_waitsForItsAssignment_thenIsWelcomed() async throws {
        let embedded = try EmbeddedLink(assignment: nil)
        await embedded.handshake()
        let (spares, sentBefore) = await embedded.run { _, transport, owner in (owner.becameSpare, transport.sent.count) }
        XCTAssertEqual(spares, 1)
        XCTAssertEqual(sentBefore, 0, "a spare is told nothing until it has a session")
        let assigned = await embedded.run { link, transport, _ in
            link.assign(EmbeddedLink.assignment("chat-7")) ? transport.sent.last : nil
        }
        guard case .welcome(let welcome)? = assigned else { return XCTFail("expected a welcome") }
        XCTAssertEqual(welcome.sessionID, "chat-7")
        await embedded.shutdown()
    }

    func testCall_isSentAndResolvedByItsReply() async throws {
        let embedded = try EmbeddedLink()
        await embedded.handshake()
        let link = embedded.link
        async let reply: Result<WireMessage, SessionError> = withCheckedContinuation { continuation in
            link.loop.execute {
                link.call(77, .request(Request(id: 77, scope: .session, name: "Echo", payload: payload(#"{"a":1}"#))),
                          what: "Echo", timeout: nil, waiter: .call(continuation))
            }
        }
        // The worker answers once it has seen the request.
        try await waitUntil { await embedded.run { _, transport, _ in transport.sent.contains { $0.kind == .request } } }
        await embedded.run { _, transport, _ in
            transport.deliver(.response(Response(id: 77, payload: payload(#"{"b":2}"#), error: nil)))
        }
        guard case .success(.response(let response)) = await reply else { return XCTFail("expected the response") }
        XCTAssertEqual(String(decoding: response.payload?.bytes ?? [], as: UTF8.self), #"{"b":2}"#)
        await embedded.shutdown()
    }

    func testPongFlood_withoutPings_isABreachThatEndsOnlyThisLink() async throws {
        let embedded = try EmbeddedLink()
        await embedded.handshake()
        let kept = await embedded.run { _, transport, _ in
            (0..<10).map { transport.deliver(.pong(Pong(id: UInt64(1_000 + $0)))) }
        }
        XCTAssertEqual(kept.first, false, "a pong that answers no ping is a lie the link does not read past")
        await embedded.settle()
        let ended = await embedded.run { _, _, owner in owner.ended }
        XCTAssertEqual(ended.map(\.kind), [.protocolBreach])
        XCTAssertEqual(ended.count, 1, "a link ends exactly once")
        await embedded.shutdown()
    }

    func testUnsolicitedReplies_pastTheirBurst_areABreach() async throws {
        var policy = InboundPolicy()
        policy.unsolicited = .init(perSecond: 1, burst: 5)
        let embedded = try EmbeddedLink(policy: policy)
        await embedded.handshake()
        let kept = await embedded.run { _, transport, _ in
            (0..<6).map { transport.deliver(.emitResult(EmitResult(id: UInt64(500 + $0), handled: 1, stopped: false))) }
        }
        XCTAssertEqual(kept, [true, true, true, true, true, false], "five late replies are tolerated, the sixth is a flood")
        await embedded.settle()
        let ended = await embedded.run { _, _, owner in owner.ended }
        XCTAssertEqual(ended.first?.kind, .protocolBreach)
        XCTAssertTrue(ended.first?.description.contains("emitResult 505") ?? false, "\(ended)")
        await embedded.shutdown()
    }

    func testGlobalCall_carriesTheAssignedSession_notAClaim() async throws {
        let embedded = try EmbeddedLink(assignment: EmbeddedLink.assignment("real-session"))
        await embedded.handshake()
        let calls = await embedded.run { _, transport, owner in
            transport.deliver(.emit(Emit(id: 9, scope: .global, event: "DocumentOpened", identifier: "other-session",
                                         payload: payload("{}"))))
            return owner.calls
        }
        XCTAssertEqual(calls.map(\.sessionID), ["real-session"])
        await embedded.shutdown()
    }

    func testReservedLifecycleName_fromAWorker_isABreach() async throws {
        let embedded = try EmbeddedLink()
        await embedded.handshake()
        await embedded.run { _, transport, _ in
            transport.deliver(.emit(Emit(id: 3, scope: .global, event: SessionLifecycleEvents.wireNames.first!, payload: payload("{}"))))
        }
        await embedded.settle()
        let (ended, calls) = await embedded.run { _, _, owner in (owner.ended, owner.calls) }
        XCTAssertEqual(ended.map(\.kind), [.protocolBreach])
        XCTAssertTrue(calls.isEmpty, "a forged lifecycle event reaches no global handler")
        await embedded.shutdown()
    }

    func testNotPermittedName_isAnsweredWithAFailure_andTheWorkerLives() async throws {
        let embedded = try EmbeddedLink(permissions: GlobalPermissions(events: ["Allowed"], requests: []))
        await embedded.handshake()
        let (reply, ended, calls) = await embedded.run { _, transport, owner in
            transport.deliver(.request(Request(id: 5, scope: .global, name: "Secret", payload: payload("{}"))))
            return (transport.sent.last, owner.ended, owner.calls)
        }
        guard case .response(let response)? = reply else { return XCTFail("expected a refusal") }
        XCTAssertEqual(response.error?.code, .notPermitted)
        XCTAssertTrue(ended.isEmpty)
        XCTAssertTrue(calls.isEmpty)
        await embedded.shutdown()
    }

    func testSupervisorOnlyKinds_andGarbage_fromAWorker_areBreaches() async throws {
        for (name, body) in [("welcome", MessageCodec.encodeBody(.welcome(Welcome(sessionID: "x", settings: payload("{}"), globalPlugins: [], heartbeatIntervalMilliseconds: 500, maximumInFlight: 8)))),
                             ("garbage", Array("not json at all".utf8))] {
            let embedded = try EmbeddedLink()
            await embedded.handshake()
            let kept = await embedded.run { _, transport, _ in transport.deliver(body: body) }
            XCTAssertFalse(kept, name)
            await embedded.settle()
            let ended = await embedded.run { _, _, owner in owner.ended }
            XCTAssertEqual(ended.map(\.kind), [.protocolBreach], name)
            await embedded.shutdown()
        }
    }

    func testHeartbeat_silenceKills_butNotWhileTheSupervisorIsBehind() async throws {
        let limits = WorkerLimits(heartbeatInterval: .milliseconds(100), heartbeatTimeout: .seconds(1))
        let behind = try EmbeddedLink(limits: limits)
        await behind.handshake()
        let start = ContinuousClock.now
        let excused = await behind.run { link, transport, owner in
            link.tick(now: start + .milliseconds(200), loopLag: .zero)   // sends a ping
            link.tick(now: start + .seconds(5), loopLag: .seconds(2))     // the loop itself ran late
            transport.pretendsUnreadInput = true
            link.tick(now: start + .seconds(6), loopLag: .zero)           // its bytes wait unread
            return (transport.sent.filter { $0.kind == .ping }.count, owner.ended, transport.killed)
        }
        XCTAssertEqual(excused.0, 1)
        XCTAssertTrue(excused.1.isEmpty, "silence the supervisor caused is not blamed on the worker")
        XCTAssertFalse(excused.2)
        await behind.shutdown()

        let silent = try EmbeddedLink(limits: limits)
        await silent.handshake()
        await silent.run { link, _, _ in
            link.tick(now: start + .milliseconds(200), loopLag: .zero)
            link.tick(now: start + .seconds(5), loopLag: .zero)
        }
        await silent.settle()
        let ended = await silent.run { _, _, owner in owner.ended }
        XCTAssertEqual(ended.map(\.kind), [.heartbeatTimeout])
        await silent.shutdown()
    }

    func testLogRecord_cannotReplaceSupervisorKeys_orForgeLines() async throws {
        let embedded = try EmbeddedLink()
        await embedded.handshake()
        let logged = await embedded.run { _, transport, owner in
            transport.deliver(.log(LogRecord(level: "info", message: "fine\n2026-01-01 session=doc-2 forged",
                                             metadata: ["session": "doc-2", "pid": "1"])))
            return owner.logged
        }
        XCTAssertEqual(logged.count, 1)
        XCTAssertFalse(logged[0].text.contains("\n"), "a newline cannot start a line of its own: \(logged[0].text)")
        XCTAssertEqual(logged[0].metadata["session"], "doc-2", "kept as the plugin's own key")
        let record = try XCTUnwrap(embedded.log.all.first { $0.message.hasPrefix("fine") })
        XCTAssertEqual(record.metadata["session"], "doc-1", "the supervisor's key names the real session")
        XCTAssertEqual(record.metadata["pid"], "4242")
        XCTAssertEqual(record.metadata["plugin.session"], "doc-2")
        XCTAssertFalse(record.message.contains("\n"))
        await embedded.shutdown()
    }

    func testCrash_endsWithItsLastWords_andFailsWaitingCalls() async throws {
        let embedded = try EmbeddedLink()
        await embedded.handshake()
        let link = embedded.link
        async let reply: Result<WireMessage, SessionError> = withCheckedContinuation { continuation in
            link.loop.execute {
                link.call(8, .request(Request(id: 8, scope: .session, name: "Slow", payload: payload("{}"))),
                          what: "Slow", timeout: nil, waiter: .call(continuation))
            }
        }
        try await waitUntil { await embedded.run { _, transport, _ in transport.sent.contains { $0.kind == .request } } }
        await embedded.run { _, transport, _ in
            transport.print("working\nFatal error: index out of range\nCurrent stack trace:\n0 frame\n")
            transport.exit(.signaled(SIGILL, coreDumped: false))
        }
        guard case .failure(let error) = await reply else { return XCTFail("a dead worker answers nobody") }
        XCTAssertEqual(error.cause?.kind, .signaled)
        let ended = await embedded.run { _, transport, owner in (owner.ended, transport.closed) }
        XCTAssertEqual(ended.0.count, 1)
        XCTAssertTrue(ended.0[0].description.contains("index out of range"), ended.0[0].description)
        XCTAssertTrue(ended.1, "the transport is released at the end")
        await embedded.shutdown()
    }

    func testOutputFlood_pausesReading_thenResumes() async throws {
        var policy = InboundPolicy()
        policy.outputBytes = .init(perSecond: 1_000, burst: 1_000)
        let embedded = try EmbeddedLink(policy: policy)
        await embedded.handshake()
        let paused = await embedded.run { _, transport, _ in
            transport.print(String(repeating: "x", count: 2_000))
            return transport.outputPaused
        }
        XCTAssertTrue(paused, "past its budget the output pipe is left to fill")
        try await waitUntil { await embedded.run { _, transport, _ in !transport.outputPaused } }
        let ended = await embedded.run { _, _, owner in owner.ended }
        XCTAssertTrue(ended.isEmpty, "printing is not an attack")
        await embedded.shutdown()
    }

    func testDispose_sendsDispose_andAnExitIsADisposal() async throws {
        let embedded = try EmbeddedLink()
        await embedded.handshake()
        let sent = await embedded.run { link, transport, _ in
            link.dispose(timeout: .seconds(5))
            transport.deliver(.bye(Bye(reason: "disposed")))
            transport.exit(.exited(0))
            return transport.sent.last
        }
        guard case .dispose? = sent else { return XCTFail("expected dispose, got \(String(describing: sent))") }
        let ended = await embedded.run { _, _, owner in owner.ended }
        XCTAssertEqual(ended.map(\.kind), [.disposed])
        await embedded.shutdown()
    }

    func testDispose_ignored_isKilledAtItsTimeout() async throws {
        let embedded = try EmbeddedLink()
        await embedded.handshake()
        await embedded.run { link, _, _ in link.dispose(timeout: .milliseconds(50)) }
        try await waitUntil { await embedded.run { _, _, owner in !owner.ended.isEmpty } }
        let (ended, killed) = await embedded.run { _, transport, owner in (owner.ended, transport.killed) }
        XCTAssertTrue(killed)
        XCTAssertEqual(ended.first?.kind, .disposed)
        XCTAssertEqual(ended.first?.signal, SIGKILL)
        await embedded.shutdown()
    }

    func testSeccompViolation_namesTheCall() async throws {
        let embedded = try EmbeddedLink()
        await embedded.handshake()
        await embedded.run { _, transport, _ in transport.violate("ptrace") }
        await embedded.settle()
        let ended = await embedded.run { _, _, owner in owner.ended }
        XCTAssertEqual(ended.map(\.kind), [.seccompViolation])
        XCTAssertTrue(ended.first?.description.contains("ptrace") ?? false)
        await embedded.shutdown()
    }

    /// Polls `condition` (on the loop) until it holds; fails after 10 s.
    private func waitUntil(_ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !(await condition()) {
            guard ContinuousClock.now < deadline else { return XCTFail("condition not met within 10 s") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
