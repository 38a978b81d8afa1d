import PluginWire

/// The rate buckets of one worker's inbound traffic (``InboundPolicy``), as a value.
struct InboundLimiter: Sendable {
    private var bytes: TokenBucket
    private var logRecords: TokenBucket
    private var logBytes: TokenBucket
    private var errors: TokenBucket
    private var unsolicited: TokenBucket
    private var globalCalls: TokenBucket
    let policy: InboundPolicy

    init(policy: InboundPolicy, now: ContinuousClock.Instant) {
        func bucket(_ rate: InboundPolicy.Rate) -> TokenBucket {
            TokenBucket(rate: rate.perSecond, burst: rate.burst, now: now)
        }
        self.policy = policy
        bytes = bucket(policy.bytes)
        logRecords = bucket(policy.logRecords)
        logBytes = bucket(policy.logBytes)
        errors = bucket(policy.errors)
        unsolicited = bucket(policy.unsolicited)
        globalCalls = bucket(policy.globalCalls)
    }

    /// Admits a frame of `length` bytes; the breach when the worker sends too much.
    mutating func admitFrame(length: Int, now: ContinuousClock.Instant) -> String? {
        bytes.take(Double(length), now: now) ? nil
            : "sent more than \(Int(policy.bytes.perSecond)) bytes a second"
    }

    /// Admits a log record carrying `textLength` bytes of text.
    mutating func admitLog(textLength: Int, now: ContinuousClock.Instant) -> String? {
        guard logRecords.take(now: now) else { return "sent more than \(Int(policy.logRecords.perSecond)) log records a second" }
        guard logBytes.take(Double(max(1, textLength)), now: now) else {
            return "sent more than \(Int(policy.logBytes.perSecond)) bytes of log text a second"
        }
        return nil
    }

    /// Admits an `error` frame.
    mutating func admitError(now: ContinuousClock.Instant) -> String? {
        errors.take(now: now) ? nil : "sent more than \(Int(policy.errors.perSecond)) error frames a second"
    }

    /// Admits a reply nobody waits for, or a cancel of a call not in flight.
    mutating func admitUnsolicited(_ what: String, now: ContinuousClock.Instant) -> String? {
        unsolicited.take(now: now) ? nil
            : "sent more than \(Int(policy.unsolicited.perSecond)) unsolicited messages a second (last: \(what))"
    }

    /// Admits a `globalBus` emit or request.
    mutating func admitGlobalCall(now: ContinuousClock.Instant) -> String? {
        globalCalls.take(now: now) ? nil
            : "sent more than \(Int(policy.globalCalls.perSecond)) global emits and requests a second"
    }
}
