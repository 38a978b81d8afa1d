import Foundation
import PluginKit
import Synchronization

/// Tells the ``FloodPlugin`` in a session to send valid traffic as fast as the supervisor's
/// default limits allow, for `seconds`, without ever breaching them: the sustained floods an
/// attacker that wants to stay alive can keep up. The handler returns at once; the flood runs
/// in a task of its own (a handler running for seconds would be ended by the heartbeat).
public struct SustainedFlood: WireEvent, Equatable {
    /// `globalEmits`, `globalRequests`, `largeEmits` or `logs` (see ``FloodPlugin``).
    public var kind: String
    /// How long the flood runs.
    public var seconds: Double
    /// Messages per second (nil: just under the default limit for the kind).
    public var rate: Double?
    /// Calls kept in flight at once (nil: the kind's default).
    public var inFlight: Int?
    /// Bytes of text in each message (nil: the kind's default).
    public var payloadBytes: Int?

    public init(kind: String, seconds: Double, rate: Double? = nil, inFlight: Int? = nil, payloadBytes: Int? = nil) {
        self.kind = kind
        self.seconds = seconds
        self.rate = rate
        self.inFlight = inFlight
        self.payloadBytes = payloadBytes
    }
}

/// A global request a flooding plugin sends as fast as it may (a global handler may answer it).
public struct FloodRequest: WireRequest, Equatable {
    public typealias Response = Int
    public var index: Int
    public init(index: Int) { self.index = index }
}

/// A global event with a large payload.
public struct FloodBulk: WireEvent, Equatable {
    public var index: Int
    public var text: String
    public init(index: Int, text: String) {
        self.index = index
        self.text = text
    }
}

/// Asks the ``FloodPlugin`` how its floods went: `[sent, failed]` over all its floods so far.
public struct FloodReport: WireRequest, Equatable {
    public typealias Response = [Int]
    public init() {}
}

/// A session plugin that floods within the limits: every message it sends is valid and admitted
/// (rates just under the default ``SustainedFlood`` limits, calls in flight under the bound),
/// so the supervisor must serve the flood for as long as it lasts. What a well-behaved
/// bystander sees meanwhile is the fairness of the supervisor's data plane.
///
/// - `globalEmits`: `FloodEvent` emits to the global bus, 128 in flight, at most 1,800/s (the
///   default limit is 2,000/s).
/// - `globalRequests`: the same with ``FloodRequest``.
/// - `largeEmits`: ``FloodBulk`` emits of 256 KiB, 8 in flight, at most 48 MiB/s (the default
///   byte limit is 64 MiB/s).
/// - `logs`: log records of 500 bytes at 450/s (the defaults: 500 records/s, 256 KiB/s).
public struct FloodPlugin: SessionPlugin {
    public let id: PluginID = "flood"
    public init() {}

    /// The sustained floods this plugin knows.
    public static let kinds = ["globalEmits", "globalRequests", "largeEmits", "logs"]

    public func attach(_ context: SessionPluginContext) async throws {
        let globalBus = context.globalBus
        let log: @Sendable (String) -> Void = { [logger = context.logger] text in logger.info("\(text)") }
        let tally = FloodTally()
        context.on(SustainedFlood.self, for: id) { envelope in
            let flood = envelope.payload
            guard Self.kinds.contains(flood.kind) else { throw FaultKind.Thrown(description: "unknown flood '\(flood.kind)'") }
            Task { await Self.run(flood, globalBus: globalBus, log: log, tally: tally) }
        }
        context.onRequest(FloodReport.self, for: id) { _ in tally.counts }
    }

    private static func run(_ flood: SustainedFlood, globalBus: any GlobalBusAccess, log: @escaping @Sendable (String) -> Void,
                            tally: FloodTally) async {
        let deadline = ContinuousClock.now + .milliseconds(Int(flood.seconds * 1000))
        let payloadBytes = flood.payloadBytes ?? (flood.kind == "largeEmits" ? 256 * 1024 : 500)
        let defaultRate: Double
        let defaultLanes: Int
        switch flood.kind {
        case "largeEmits": (defaultRate, defaultLanes) = (48 * 1024 * 1024 / Double(payloadBytes), 8)
        case "logs": (defaultRate, defaultLanes) = (450, 1)
        default: (defaultRate, defaultLanes) = (1_800, 128)
        }
        let pace = Pace(perSecond: flood.rate ?? defaultRate)
        let text = String(repeating: "f", count: payloadBytes)
        let lanes = max(1, flood.inFlight ?? defaultLanes)
        await withTaskGroup(of: Void.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var index = lane
                    while ContinuousClock.now < deadline {
                        await pace.next()
                        var failed = false
                        do {
                            switch flood.kind {
                            case "globalEmits": _ = try await globalBus.emit(FloodEvent(index: index))
                            case "globalRequests": _ = try await globalBus.request(FloodRequest(index: index))
                            case "largeEmits": _ = try await globalBus.emit(FloodBulk(index: index, text: text))
                            default: log(text)
                            }
                        } catch {
                            failed = true
                        }
                        tally.count(failed: failed)
                        index += lanes
                    }
                }
            }
        }
    }
}

/// Messages sent and failed, over all floods of one session.
private final class FloodTally: Sendable {
    private let state = Mutex((sent: 0, failed: 0))
    func count(failed: Bool) { state.withLock { failed ? ($0.failed += 1) : ($0.sent += 1) } }
    var counts: [Int] { state.withLock { [$0.sent, $0.failed] } }
}

/// Spaces sends `1 / perSecond` apart on average (a token bucket with a burst of 1% of a second).
private final class Pace: Sendable {
    private let interval: Duration
    private let burst: Duration
    private let next = Mutex(ContinuousClock.now)

    init(perSecond: Double) {
        interval = .nanoseconds(Int64(1e9 / max(1, perSecond)))
        burst = .milliseconds(10)
    }

    /// Waits until the next send is due.
    func next() async {
        let due = next.withLock { due -> ContinuousClock.Instant in
            let now = ContinuousClock.now
            // Unused time is not saved up beyond the burst.
            if due < now - burst { due = now - burst }
            defer { due = due + interval }
            return due
        }
        if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
    }
}
