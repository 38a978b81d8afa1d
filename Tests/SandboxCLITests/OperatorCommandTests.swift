#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// The commands an operator used to docker, kubectl and systemctl reaches for, each through the
/// built binary against a live supervisor.
final class OperatorCommandTests: CLITestCase {
    func testSettingsApply_whenOneSessionRefuses_rollsEveryScopeBackAndNamesIt() throws {
        try startDaemon()
        for id in ["calm", "picky"] { XCTAssertEqual(try ctl(["spawn", "--id", id, "--plugin", "editor"]).status, 0) }
        let path = try file("refused.json", #"{"plugins": {"editor": {"enabled": true}, "fault": {"enabled": true, "config": {"failAttachIn": "picky"}}}}"#)
        let applied = try ctl(["settings", "apply", path])
        XCTAssertEqual(applied.status, 1, applied.output + applied.error)
        let lines = applied.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, applied.output)
        XCTAssertEqual(lines.first, "global: rolled back (keeps its previous settings)")
        XCTAssertTrue(lines.contains("calm: rolled back (keeps its previous settings)"), applied.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("picky: REFUSED:") && $0.contains("failAttachIn") }, applied.output)
        XCTAssertTrue(applied.error.contains("session picky refused; every scope was rolled back"), applied.error)
        for summary in try sessions() {
            XCTAssertEqual(summary["attachedPlugins"] as? [String], ["editor"], "\(summary["id"] ?? "?") kept a change")
        }
    }

    func testSettingsApply_reconcilesEverySession_includingThoseSpawnedWithTheirOwnPlugins() throws {
        try startDaemon()
        XCTAssertEqual(try ctl(["spawn", "--id", "own", "--plugin", "editor"]).status, 0)
        XCTAssertEqual(try ctl(["spawn", "--id", "plain"]).status, 0)
        let applied = try ctl(["settings", "apply", "-", "-o", "json"], stdin: #"{"plugins": {"fault": {"enabled": false}, "editor": {"enabled": true}}}"#)
        let report = try XCTUnwrap(try json(applied) as? [String: Any])
        XCTAssertEqual(report["applied"] as? Bool, true)
        let scopes = try XCTUnwrap(report["scopes"] as? [String: [String: Any]])
        XCTAssertEqual(Set(scopes.keys), ["global", "own", "plain"])
        XCTAssertEqual(scopes["plain"]?["detached"] as? [String], ["fault"])
        for summary in try sessions() {
            XCTAssertEqual(summary["attachedPlugins"] as? [String], ["editor"], "\(summary["id"] ?? "?") was not reconciled")
        }
    }

    func testSettingsFile_withUnknownKeys_isRefusedNamingKeyAndValue() throws {
        try startDaemon()
        let misspelled = try file("typo.json", #"{"plugins": {"editor": {"enabld": false}}}"#)
        let typo = try ctl(["settings", "apply", misspelled])
        XCTAssertEqual(typo.status, 1)
        XCTAssertTrue(typo.error.contains("unknown key 'plugins.editor.enabld' (value false)"), typo.error)
        let singular = try file("plugin.json", #"{"plugin": {"editor": {}}}"#)
        let spawn = try ctl(["spawn", "--settings", singular])
        XCTAssertEqual(spawn.status, 1)
        XCTAssertTrue(spawn.error.contains("--settings \(singular): unknown key 'plugin'"), spawn.error)
        XCTAssertFalse(spawn.error.contains("--payload"), spawn.error)
        let wrongType = try file("type.json", #"{"plugins": {"editor": {"enabled": "yes"}}}"#)
        let typed = try ctl(["settings", "apply", wrongType])
        XCTAssertEqual(typed.status, 1)
        XCTAssertTrue(typed.error.contains("plugins.editor.enabled: expected true or false"), typed.error)
    }

    func testEmit_ofAnEventNobodyHandles_isUnhandledWithExitCodeOne() throws {
        try startDaemon()
        XCTAssertEqual(try ctl(["spawn", "--id", "e1"]).status, 0)
        let typo = try ctl(["emit", "e1", "ThemeChangd", "--payload", #"{"theme":"dark"}"#])
        XCTAssertEqual(typo.status, 1)
        XCTAssertTrue(typo.output.hasPrefix("e1\tunhandled"), typo.output)
        let handled = try ctl(["emit", "e1", "ThemeChanged", "--payload", #"{"theme":"dark"}"#])
        XCTAssertEqual(handled.status, 0, handled.error)
        XCTAssertTrue(handled.output.hasPrefix("e1\tdelivered"), handled.output)
    }

    func testEmit_withBothIdsAndAll_isAUsageError() throws {
        let both = try run(["emit", "e1", "--all", "ThemeChanged"])
        XCTAssertEqual(both.status, 64)
        XCTAssertTrue(both.error.contains("either session ids or --all"), both.error)
    }

    func testSeveralIds_payloadFromStdin_andQuiet() throws {
        try startDaemon()
        for id in ["m1", "m2", "m3"] { XCTAssertEqual(try ctl(["spawn", "--id", id]).status, 0) }
        let emitted = try ctl(["emit", "m1", "m2", "ThemeChanged", "--payload", "@-"], stdin: #"{"theme":"blue"}"#)
        XCTAssertEqual(emitted.status, 0, emitted.error)
        XCTAssertEqual(emitted.output.split(separator: "\n").count, 2, emitted.output)
        XCTAssertEqual(try ctl(["request", "m2", "CurrentThemeRequest"]).output.trimmingCharacters(in: .whitespacesAndNewlines), "\"blue\"")
        let killed = try ctl(["kill", "m1", "nope", "m3"])
        XCTAssertEqual(killed.status, 1)
        XCTAssertTrue(killed.output.contains("m1: killedByOperator") && killed.output.contains("m3: killedByOperator"), killed.output)
        XCTAssertTrue(killed.error.contains("no session with id 'nope'"), killed.error)
        XCTAssertEqual(try ctl(["ls", "--live", "-q"]).output, "m2\n")
        XCTAssertEqual(try ctl(["dispose", "m2", "-q"]).output, "")
    }

    func testRestart_replacesTheWorkerAndTheUptimeStartsAgain() throws {
        try startDaemon()
        XCTAssertEqual(try ctl(["spawn", "--id", "r1"]).status, 0)
        let before = try XCTUnwrap(try sessions().first)
        let restarted = try ctl(["restart", "r1"])
        XCTAssertEqual(restarted.status, 0, restarted.error)
        try eventually("r1 runs in a new worker") {
            let now = try sessions().first
            return now?["state"] as? String == "running" && now?["pid"] as? Int != before["pid"] as? Int && now?["pid"] != nil
        }
        let after = try XCTUnwrap(try sessions().first)
        XCTAssertGreaterThan(try XCTUnwrap(after["startedAt"] as? String), try XCTUnwrap(before["startedAt"] as? String))
        let events = try ctl(["events", "-q"])
        XCTAssertEqual(events.output, "r1 started\nr1 restarted\n", events.error)
    }

    func testRemoveAndPrune_forgetEndedSessions_butNotLiveOnes() throws {
        try startDaemon()
        for id in ["p1", "p2", "p3"] { XCTAssertEqual(try ctl(["spawn", "--id", id]).status, 0) }
        let live = try ctl(["rm", "p1"])
        XCTAssertEqual(live.status, 1)
        XCTAssertTrue(live.error.contains("still running"), live.error)
        XCTAssertEqual(try ctl(["kill", "p1", "p2"]).status, 0)
        XCTAssertEqual(try ctl(["rm", "p1"]).output, "p1: removed\n")
        XCTAssertEqual(try ctl(["ls", "-q"]).output, "p2\np3\n")
        XCTAssertEqual(try ctl(["prune"]).output, "p2\n")
        XCTAssertEqual(try ctl(["rm", "--force", "p3"]).status, 0)
        XCTAssertEqual(try ctl(["ls", "-q"]).output, "")
    }

    func testEvents_followStreamsCrashesAsTheyHappen() throws {
        try startDaemon()
        XCTAssertEqual(try ctl(["spawn", "--id", "f1", "--plugin", "fault", "--restart", "on-crash:2/30"]).status, 0)
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: try executable)
        follower.arguments = ["events", "--follow", "-o", "json", "--socket", socket]
        let output = Pipe()
        follower.standardOutput = output
        try follower.run()
        defer {
            if follower.isRunning { kill(follower.processIdentifier, SIGKILL) }
            follower.waitUntilExit()
        }
        XCTAssertEqual(try ctl(["emit", "f1", "InjectFault", "--payload", #"{"kind":"abort"}"#]).status, 1)
        var lines: [String] = []
        var buffer = Data()
        let reader = output.fileHandleForReading
        eventually("the follower saw the crash and the restart") {
            var ready = pollfd(fd: reader.fileDescriptor, events: Int16(POLLIN), revents: 0)
            if poll(&ready, 1, 100) == 1 { buffer += reader.availableData }
            lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n").map(String.init)
            return lines.contains { $0.contains(#""event":"restarted""#) }
        }
        let records = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(records.map { $0["event"] as? String }, ["started", "crashed", "restarted"])
        XCTAssertEqual(records[1]["willRestart"] as? Bool, true)
        XCTAssertEqual((records[1]["cause"] as? [String: Any])?["kind"] as? String, "signaled")
    }

    func testStartLimit_engagedByCrashes_isShownByLs_andABadValueIsAUsageError() throws {
        let bad = try run(["serve", "--socket", socket, "--start-limit", "ten/5"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.error.contains("ten/5") && bad.error.contains("--start-limit"), bad.error)
        try startDaemon(["--start-limit", "2/120:100"])
        XCTAssertFalse(try ctl(["ls"]).output.contains("start limit"), "not engaged before any crash")
        for id in ["c1", "c2"] {
            XCTAssertEqual(try ctl(["spawn", "--id", id, "--plugin", "fault"]).status, 0)
            XCTAssertEqual(try ctl(["emit", id, "InjectFault", "--payload", #"{"kind":"abort"}"#]).status, 1)
        }
        var listing = ""
        try eventually("ls shows the start limit engaged") {
            listing = try ctl(["ls"]).output
            return listing.contains("start limit engaged")
        }
        XCTAssertTrue(listing.contains("(after 2 crashes within 120000 ms: one start every 100 ms") && listing.contains("2 recent crashes"), listing)
        XCTAssertEqual(try ctl(["spawn", "--id", "c3", "--plugin", "fault"]).status, 0, "a start waits for its turn, then starts")
    }

    func testLogs_showPluginRecordsAndOutputWithLevelsTailAndTimestamps() throws {
        try startDaemon()
        XCTAssertEqual(try ctl(["spawn", "--id", "l1", "--plugin", "editor", "--plugin", "fault"]).status, 0)
        XCTAssertEqual(try ctl(["emit", "l1", "InjectFault", "--payload", #"{"kind":"fatalError"}"#]).status, 1)
        try eventually("l1 ended") { try sessions().first?["state"] as? String == "crashed" }
        let all = try ctl(["logs", "l1"])
        XCTAssertEqual(all.status, 0, all.error)
        XCTAssertTrue(all.output.contains("[plugin] info: document opened"), all.output)
        XCTAssertTrue(all.output.contains("[output] "), all.output)
        XCTAssertTrue(all.output.contains("[supervisor] notice: session ended"), all.output)
        let tail = try ctl(["logs", "l1", "--tail", "1", "--timestamps"])
        let last = tail.output.split(separator: "\n")
        XCTAssertEqual(last.count, 1, tail.output)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        XCTAssertNotNil(formatter.date(from: String(last[0].prefix { $0 != " " })), tail.output)
        XCTAssertTrue(last[0].hasSuffix(all.output.split(separator: "\n").last.map(String.init) ?? "?"), tail.output)
        let recent = try ctl(["logs", "l1", "--since", "1h", "-o", "json"])
        XCTAssertEqual(recent.output.split(separator: "\n").count, all.output.split(separator: "\n").count)
        XCTAssertEqual(try ctl(["logs", "l1", "--since", "0s"]).output, "")
    }

    func testLogsFollow_printsNewLinesAndEndsWithTheSession() throws {
        try startDaemon()
        XCTAssertEqual(try ctl(["spawn", "--id", "l2", "--plugin", "fault"]).status, 0)
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: try executable)
        follower.arguments = ["logs", "-f", "l2", "--socket", socket]
        let output = Pipe()
        follower.standardOutput = output
        try follower.run()
        defer {
            if follower.isRunning { kill(follower.processIdentifier, SIGKILL) }
        }
        XCTAssertEqual(try ctl(["emit", "l2", "InjectFault", "--payload", #"{"kind":"exit","argument":7}"#]).status, 1)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        follower.waitUntilExit()
        XCTAssertEqual(follower.terminationStatus, 0)
        XCTAssertTrue(text.contains("[supervisor] notice: session ended: exited (code 7)"), text)
    }

    func testProfileFile_isReadByTheClientRelativeToItsDirectory_andDegradedLayersAreMarked() throws {
        try startDaemon()
        let source = repository.appendingPathComponent("Sandbox/profiles/default.json")
        var document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        var limits = try XCTUnwrap(document["rlimits"] as? [String: Any])
        limits["openFiles"] = 1 << 40
        document["rlimits"] = limits
        document["name"] = "lenient"
        document["allowDegraded"] = ["rlimits"]
        let client = directory + "/client"
        try FileManager.default.createDirectory(atPath: client, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: client + "/lenient.json"))
        let spawned = try run(["spawn", "--socket", socket, "--id", "d1", "--profile", "./lenient.json"], in: client)
        XCTAssertEqual(spawned.status, 0, spawned.error)
        let inspect = try ctl(["inspect", "d1"])
        XCTAssertTrue(inspect.output.contains("profile:   lenient"), inspect.output)
        XCTAssertTrue(inspect.output.contains("1 DEGRADED"), inspect.output)
        XCTAssertTrue(inspect.output.split(separator: "\n").contains { $0.hasPrefix("  DEGRADED  rlimits") }, inspect.output)
        let absent = try run(["spawn", "--socket", socket, "--profile", "./absent.json"], in: client)
        XCTAssertEqual(absent.status, 64)
        XCTAssertTrue(absent.error.contains("--profile ./absent.json: the file does not exist"), absent.error)
    }

    func testDoctor_exitsOneWhenARequiredLayerCannotBeEngaged() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to run as nobody, where root-only layers cannot be engaged")
        }
        let asRoot = try run(["doctor", "-q"])
        XCTAssertEqual(asRoot.status, 0, asRoot.error)
        let asNobody = try run(["doctor"], as: ["--reuid=65534", "--regid=65534", "--clear-groups"])
        XCTAssertEqual(asNobody.status, 1, asNobody.output)
        XCTAssertTrue(asNobody.error.contains("cannot be engaged here") && asNobody.error.contains("identity"), asNobody.error)
    }

    func testPlugins_listEveryEventAndRequestWithPayloadFields() throws {
        try startDaemon()
        let offer = try XCTUnwrap(try json(try ctl(["plugins", "-o", "json"])) as? [String: Any])
        XCTAssertEqual((offer["globalPlugins"] as? [[String: Any]])?.compactMap { $0["id"] as? String }.sorted(), ["audit", "theme"])
        XCTAssertEqual((offer["sessionPlugins"] as? [[String: Any]])?.compactMap { $0["id"] as? String }.sorted(), ["editor", "fault"])
        let messages = try XCTUnwrap(offer["messages"] as? [[String: Any]])
        let inject = try XCTUnwrap(messages.first { $0["name"] as? String == "InjectFault" })
        let fields = try XCTUnwrap(inject["fields"] as? [[String: Any]])
        XCTAssertEqual(fields.map { "\($0["name"] ?? "") \($0["type"] ?? "") \($0["optional"] ?? "")" }, ["kind string 0", "argument int 1"])
        let count = try XCTUnwrap(messages.first { $0["name"] as? String == "WordCountRequest" })
        XCTAssertEqual(count["response"] as? String, "int")
        XCTAssertEqual(count["kind"] as? String, "request")
        let table = try ctl(["plugins"])
        XCTAssertTrue(table.output.contains("ThemeChanged") && table.output.contains("{theme: string}"), table.output)
    }

    func testHabits_versionSuggestionsFaultsCompletionAndBoundedTop() throws {
        let version = try run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertFalse(version.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        let typo = try run(["lss"])
        XCTAssertEqual(typo.status, 64)
        XCTAssertTrue(typo.error.contains("unknown command 'lss'") && typo.error.contains("'ls'"), typo.error)
        let faults = try run(["faults"])
        XCTAssertTrue(faults.output.contains("segfault") && faults.output.contains("raises SIGSEGV"), faults.output)
        let names = try XCTUnwrap(try json(try run(["faults", "-o", "json"])) as? [[String: String]])
        XCTAssertTrue(names.allSatisfy { !($0["description"] ?? "").isEmpty })
        let completion = try run(["completion", "bash"])
        XCTAssertEqual(completion.status, 0, completion.error)
        XCTAssertTrue(completion.output.contains("sandboxctl"), completion.output)
        let top = try run(["top", "--interval", "0s", "--socket", socket])
        XCTAssertEqual(top.status, 64)
        XCTAssertTrue(top.error.contains("--interval must be between 100ms and 1h"), top.error)
    }

    func testCompletion_offersLiveSessionIdsProfilesAndPlugins() throws {
        try startDaemon()
        XCTAssertEqual(try ctl(["spawn", "--id", "complete-me"]).status, 0)
        var environment = ProcessInfo.processInfo.environment
        environment["SANDBOXCTL_SOCKET"] = socket
        // What the generated bash script runs: `sandboxctl ---completion SUBCOMMAND -- ARGUMENT WORD-INDEX CURSOR WORDS...`.
        let ids = try run(["---completion", "kill", "--", "positional@0", "2", "0", "sandboxctl", "kill", ""], environment: environment)
        XCTAssertTrue(ids.output.contains("complete-me"), ids.output + ids.error)
        let profiles = try run(["---completion", "spawn", "--", "--profile", "3", "0", "sandboxctl", "spawn", "--profile", ""], environment: environment)
        XCTAssertTrue(profiles.output.contains("strict"), profiles.output + profiles.error)
    }

    func testSocketFromEnvironment_andDefaultsNamedWhenNoneAnswers() throws {
        try startDaemon()
        XCTAssertEqual(try ctl(["spawn", "--id", "env"]).status, 0)
        var environment = ProcessInfo.processInfo.environment
        environment["SANDBOXCTL_SOCKET"] = socket
        XCTAssertEqual(try run(["ls", "-q"], environment: environment).output, "env\n")
        XCTAssertEqual(try run(["--socket", socket, "ls", "-q"]).output, "env\n", "--socket before the command")
        environment["SANDBOXCTL_SOCKET"] = nil
        environment["XDG_RUNTIME_DIR"] = directory + "/runtime"
        guard !FileManager.default.fileExists(atPath: "/run/sandboxctl.sock") else {
            throw XCTSkip("a system supervisor may answer on /run/sandboxctl.sock here")
        }
        let none = try run(["ls"], environment: environment)
        XCTAssertEqual(none.status, 69)
        XCTAssertTrue(none.error.contains(directory + "/runtime/sandboxctl.sock or /run/sandboxctl.sock"), none.error)
    }
}

