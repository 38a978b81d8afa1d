import DequeModule
import Foundation
import Logging
import PluginSandbox
import PluginSystem
import PluginWire
import Synchronization

/// The supervisor engine: spawns confined workers, keeps the session table, routes their
/// traffic, watches their health and reports every ending.
///
/// Sessions are spread over a few event loops (one per core, at most four); each session and its
/// worker live on one loop and are only touched there. ``run()`` is the engine's service: it
/// routes the workers' `globalBus` calls into the runtime, publishes lifecycle changes in order,
/// replaces crashed workers and refills the spare pool. The engine survives anything a worker
/// sends or does.
final class Supervisor: Sendable {
    /// How the engine is set up.
    /// Where the engine's workers come from.
    enum WorkerSource: Sendable {
        /// Real, confined processes.
        case spawner(WorkerSpawner)
        /// Workers in memory, for tests that drive the engine without a process or a socket: the
        /// transport of a new worker for `sessionID` (nil: a spare), made on its loop.
        case embedded(@Sendable (_ sessionID: String?, _ loop: EventLoop) -> any WorkerTransport)
    }

    struct Configuration: Sendable {
        var workers: WorkerSource
        var router: any GlobalRouter
        var limits: @Sendable (SandboxProfile) -> WorkerLimits = { WorkerLimits(profile: $0) }
        var inboundPolicy = InboundPolicy()
        var permissions = GlobalPermissions.any
        var cgroups: CgroupController?
        var loopCount = min(4, max(2, ProcessInfo.processInfo.activeProcessorCount))
        var healthInterval: Duration = .milliseconds(100)
        /// Warm spares kept per profile that has been used (0: none).
        var sparesPerProfile = 1
        var workerEnvironment: [String: String] = [:]
        /// Spaces starts while workers keep crashing (nil: never).
        var startLimit: StartLimit? = StartLimit()
        var logger = Logger(label: "plugin-supervisor", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    /// Work the engine's service performs off the loops.
    enum Work: Sendable {
        case global(GlobalCall, LoopBound<WorkerLink>)
        case respawn(SupervisedSession)
        case refillSpares(SandboxProfile, [SealedPluginLibrary])
    }

    private struct Table {
        var live: [String: SupervisedSession] = [:]
        var order: [String] = []
        var reserved: Set<String> = []
        /// Sessions that ended between their worker's ready and their listing (a worker that dies
        /// at once): never listed as live.
        var endedBeforeListed: Set<ObjectIdentifier> = []
        var ended = Deque<SupervisedSession>()
        var shuttingDown = false
        var nextLoop = 0
    }

    /// How many ended sessions the table remembers (with their cause and log).
    static let endedHistory = 64

    let configuration: Configuration
    let loops: [EventLoop]
    private let table = Mutex(Table())
    private let spares: SparePool
    /// The ``StartLimit``'s state (nil: no limit).
    private let startGate: Mutex<StartGate?>
    private let work: AsyncStream<Work>
    private let workInput: AsyncStream<Work>.Continuation
    private let lifecycleOutput: AsyncStream<SessionLifecycle>
    private let lifecycleInput: AsyncStream<SessionLifecycle>.Continuation
    private let subscribers = Mutex<[Int: AsyncStream<SessionLifecycle>.Continuation]>([:])
    private let serving = Atomic<Bool>(false)
    /// Whether ``run()``'s work has drained (every restart, refill and routed call returned), and
    /// who waits for it: ``shutdown(timeout:)`` stops the loops only after, since work in flight
    /// still submits to them.
    private let workDrained = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    /// Receives every lifecycle change in order (the runtime publishes them on the global bus).
    let lifecycleHandler: Mutex<(@Sendable (SessionLifecycle) async -> Void)?> = Mutex(nil)

    init(configuration: Configuration) throws(SystemCallError) {
        self.configuration = configuration
        // Each session holds several descriptors here (socket, pidfd, output pipe, seccomp listener,
        // cgroup counters): thousands of sessions need more than the usual soft limit.
        if let limit = try? ProcessLimits.raiseOpenFiles(), limit < 65_536 {
            configuration.logger.notice("the open-file limit is low for many sessions", metadata: ["limit": "\(limit)"])
        }
        var loops: [EventLoop] = []
        for index in 0..<max(1, configuration.loopCount) {
            loops.append(try EventLoop(name: "supervisor-loop-\(index)"))
        }
        self.loops = loops
        self.spares = SparePool(perProfile: configuration.sparesPerProfile)
        self.startGate = Mutex(configuration.startLimit.map { StartGate(limit: $0) })
        (work, workInput) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        (lifecycleOutput, lifecycleInput) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        for loop in loops { startHealthTicks(on: loop) }
    }

    // MARK: The service

    /// Runs the engine's off-loop work until ``shutdown()``: `globalBus` calls, lifecycle
    /// publication (in order), restarts and spare refills.
    func run() async {
        serving.store(true, ordering: .releasing)
        defer { serving.store(false, ordering: .releasing) }
        await withDiscardingTaskGroup { group in
            group.addTask { [lifecycleOutput] in
                for await change in lifecycleOutput { await self.deliver(change) }
            }
            await withDiscardingTaskGroup { performing in
                for await item in work {
                    performing.addTask { await self.perform(item) }
                }
            }
            let waiters = workDrained.withLock { drained in
                drained.done = true
                defer { drained.waiters = [] }
                return drained.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Returns once ``run()``'s work has drained (at once when it is not running).
    private func workHasDrained() async {
        guard serving.load(ordering: .acquiring) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = workDrained.withLock { drained -> Bool in
                if !drained.done { drained.waiters.append(continuation) }
                return drained.done
            }
            if done { continuation.resume() }
        }
    }

    private func perform(_ item: Work) async {
        switch item {
        case .global(let call, let link): await routeNow(call, link: link)
        case .respawn(let session): await respawnNow(session)
        case .refillSpares(let profile, let libraries): await refill(profile, libraries: libraries)
        }
    }

    // MARK: Sessions

    /// Spawns (or takes a warm spare for) a new session and waits until its plugins are attached;
    /// its workers load `libraries` (spares are kept per profile and set of libraries).
    func openSession(id: String, profile: SandboxProfile, settings: RawJSON, globalPlugins: [String],
                     restartPolicy: RestartPolicy, unknownReferences: String? = nil,
                     limits: WorkerLimits? = nil, libraries: [SealedPluginLibrary] = []) async throws(SessionError) -> SupervisedSession {
        try table.withLock { (table) throws(SessionError) in
            if table.shuttingDown { throw SessionError(code: .spawn, sessionID: id, message: "the supervisor is shutting down") }
            if table.live[id] != nil || table.reserved.contains(id) {
                throw SessionError(code: .spawn, sessionID: id, message: "session id '\(id)' is already in use")
            }
            table.reserved.insert(id)
        }
        defer { table.withLock { _ = $0.reserved.remove(id) } }
        try await waitForTurn(id)
        // A spare was greeted with the profile's own limits: a session with other limits starts cold.
        let spare = limits == nil ? spares.take(profile, libraries: libraries) : nil
        let loop = spare?.loop ?? nextLoop()
        // One hop to the loop: the session is made there and, from a spare, welcomed at once.
        let session = await loop.submit { [self] in
            let session = SupervisedSession(
                id: id, profile: profile, restartPolicy: restartPolicy, settings: settings,
                globalPlugins: globalPlugins, unknownReferences: unknownReferences,
                limits: limits ?? configuration.limits(profile), loop: loop, supervisor: self, logger: configuration.logger,
                libraries: libraries)
            if let spare {
                session.adopt(spare, isSpare: true)
                hosted(on: loop).insert(session)
            }
            return session
        }
        defer { table.withLock { _ = $0.endedBeforeListed.remove(ObjectIdentifier(session)) } }
        let link: WorkerLink
        if let spare {
            link = spare
        } else {
            do {
                link = try await spawnWorker(profile: profile, limits: session.limits, libraries: libraries,
                                             assignment: session.coldAssignment, on: loop)
            } catch {
                await loop.submit { session.respawnFailed(error) }
                throw error
            }
            await loop.submit { [self] in
                session.adopt(link, isSpare: false)
                hosted(on: loop).insert(session)
                link.start()
            }
        }
        let readiness = await link.awaitReady()
        if case .success = readiness {
            table.withLock { table in
                guard table.endedBeforeListed.remove(ObjectIdentifier(session)) == nil else {
                    // It started, then ended at once: remembered as ended, never listed as live.
                    table.ended.append(session)
                    while table.ended.count > Self.endedHistory { table.ended.removeFirst() }
                    return
                }
                table.live[id] = session
                table.order.append(id)
            }
        }
        // The next spare is made once this session has started, so that its fork and confinement
        // do not compete with this start for the CPUs. Spares that load libraries only once these
        // libraries have started a session: a library that cannot load would otherwise fail a
        // spare for every session that names it.
        if case .success = readiness {
            requestSpares(profile, libraries: libraries)
        } else if libraries.isEmpty {
            requestSpares(profile)
        }
        switch readiness {
        case .success:
            return session
        case .failure(let error):
            throw error
        }
    }

    /// Spawns a worker for `assignment` (nil: a spare) and builds its link on `loop` (not started).
    private func spawnWorker(profile: SandboxProfile, limits: WorkerLimits, libraries: [SealedPluginLibrary],
                             assignment: SessionAssignment?, on loop: EventLoop) async throws(SessionError) -> WorkerLink {
        let sessionID = assignment?.sessionID ?? "(spare)"
        let spawner: WorkerSpawner
        switch configuration.workers {
        case .spawner(let real):
            spawner = real
        case .embedded(let make):
            let configuration = self.configuration
            return await loop.submit {
                WorkerLink(loop: loop, transport: make(assignment?.sessionID, loop), profile: profile, limits: limits,
                           policy: configuration.inboundPolicy, permissions: configuration.permissions, cgroup: nil,
                           assignment: assignment, logger: configuration.logger)
            }
        }
        let cgroup: WorkerCgroup?
        do {
            cgroup = try configuration.cgroups?.createWorkerGroup(name: "w\(CorrelationID.next())", limits: profile.cgroupLimits)
        } catch {
            throw SessionError(code: .spawn, sessionID: sessionID, message: "could not create a cgroup for session \(sessionID): \(error)",
                               cause: .spawnFailed("\(error)"))
        }
        let spawned: SpawnedWorker
        do {
            spawned = try await spawner.spawn(SpawnRequest(
                sessionID: assignment?.sessionID, profile: profile, environment: configuration.workerEnvironment,
                joinDescriptors: cgroup?.joinDescriptors ?? [], libraries: libraries))
            cgroup?.closeJoinDescriptors()
        } catch {
            try? cgroup?.destroy()
            throw SessionError(code: .spawn, sessionID: sessionID, message: "could not spawn a worker for session \(sessionID): \(error)",
                               cause: .spawnFailed("\(error)"))
        }
        let configuration = self.configuration
        return await loop.submit {
            WorkerLink(loop: loop, transport: ProcessTransport(worker: spawned, loop: loop), profile: profile, limits: limits,
                       policy: configuration.inboundPolicy, permissions: configuration.permissions, cgroup: cgroup,
                       assignment: assignment, logger: configuration.logger)
        }
    }

    /// Asks the service for a replacement worker for `session`.
    func respawn(_ session: SupervisedSession) {
        workInput.yield(.respawn(session))
    }

    private func respawnNow(_ session: SupervisedSession) async {
        let loop = session.loop
        do {
            try await waitForTurn(session.id)
            let link = try await spawnWorker(profile: session.profile, limits: session.limits, libraries: session.libraries,
                                             assignment: await loop.submit { session.coldAssignment }, on: loop)
            await loop.submit {
                session.adopt(link, isSpare: false)
                link.start()
            }
        } catch {
            await loop.submit { session.respawnFailed(error) }
        }
    }

    // MARK: The start limit

    /// Waits for this start's turn under the ``StartLimit`` (at once unless it is engaged); a
    /// shutdown ends the wait.
    private func waitForTurn(_ id: String) async throws(SessionError) {
        let admission = startGate.withLock { gate in gate?.admit(at: .now) }
        switch admission ?? .now {
        case .now:
            return
        case .at(let turn):
            while ContinuousClock.now < turn {
                if table.withLock({ $0.shuttingDown }) {
                    throw SessionError(code: .spawn, sessionID: id, message: "the supervisor is shutting down")
                }
                do {
                    try await Task.sleep(until: min(turn, .now + .milliseconds(50)), clock: .continuous)
                } catch {
                    throw SessionError(code: .cancelled, sessionID: id, message: "session \(id) was cancelled while it waited for its turn under the start limit")
                }
            }
        case .refused(let reason):
            throw SessionError(code: .startLimited, sessionID: id, message: "session \(id) was not started: \(reason)")
        }
    }

    /// A session's worker crashed (any loop): counted against the ``StartLimit``.
    func workerCrashed(_ session: String, cause: ExitCause) {
        let engaged = startGate.withLock { gate in gate?.crashed(at: .now) == true ? gate?.limit : nil }
        guard let limit = engaged else { return }
        configuration.logger.warning("start limit engaged: workers keep crashing, so starts are spaced", metadata: [
            "crashes": "\(limit.crashes) within \(limit.window.formattedMilliseconds)", "interval": "\(limit.interval.formattedMilliseconds)",
            "lastCrash": "\(session): \(cause)",
        ])
    }

    /// What the ``StartLimit`` has done (nil: there is none).
    var startLimitStatus: StartLimit.Status? {
        startGate.withLock { $0?.status(at: .now) }
    }

    /// The live session with `id`.
    func session(_ id: String) -> SupervisedSession? {
        table.withLock { $0.live[id] }
    }

    /// The live sessions, oldest first.
    var sessions: [SupervisedSession] {
        table.withLock { table in table.order.compactMap { table.live[$0] } }
    }

    /// The most recently ended sessions, oldest first (at most ``endedHistory``).
    var endedSessions: [SupervisedSession] {
        table.withLock { Array($0.ended) }
    }

    /// The live or recently ended session with `id`.
    func anySession(_ id: String) -> SupervisedSession? {
        table.withLock { table in table.live[id] ?? table.ended.last { $0.id == id } }
    }

    /// Called by a session once it is over for good (on its loop).
    func sessionFinished(_ session: SupervisedSession, cause: ExitCause) {
        hosted(on: session.loop).remove(session)
        table.withLock { table in
            guard table.live[session.id] === session else {
                // Still being opened: its opener must not list it (it ended after its ready).
                if table.reserved.contains(session.id) { table.endedBeforeListed.insert(ObjectIdentifier(session)) }
                return
            }
            table.live[session.id] = nil
            table.order.removeAll { $0 == session.id }
            table.ended.append(session)
            while table.ended.count > Self.endedHistory { table.ended.removeFirst() }
        }
    }

    private func nextLoop() -> EventLoop {
        let index = table.withLock { table -> Int in
            defer { table.nextLoop += 1 }
            return table.nextLoop % loops.count
        }
        return loops[index]
    }

    // MARK: Broadcast

    /// Emits one event into every live session at once: the frame is encoded once and the same
    /// bytes are written to every worker. Completes when each answered or failed.
    func broadcast(event: String, payload: RawJSON, identifier: String?, timeout: Duration?,
                   to targets: [SupervisedSession]? = nil) async -> [(String, Result<WireMessage, SessionError>)] {
        let targets = targets ?? sessions
        guard !targets.isEmpty else { return [] }
        let id = CorrelationID.next()
        var encoded: [UInt8] = []
        do {
            try MessageCodec.appendFrame(.emit(Emit(id: id, scope: .session, event: event, identifier: identifier, payload: payload)), to: &encoded)
        } catch {
            let failure = SessionError(code: .invalidPayload, sessionID: "-", message: "could not encode \(event): \(error)")
            return targets.map { ($0.id, .failure(failure)) }
        }
        let frame = encoded
        let collector = BroadcastCollector(count: targets.count)
        let byLoop = Dictionary(grouping: targets.enumerated(), by: { ObjectIdentifier($0.element.loop) })
        let results = await collector.collect {
            for group in byLoop.values {
                let loop = group[0].element.loop
                let slots = group.map { ($0.offset, $0.element) }
                loop.execute {
                    for (slot, session) in slots {
                        session.deliver(id, frame: frame, what: "emit \(event)", timeout: timeout, collector: collector, slot: slot)
                    }
                }
            }
        }
        return zip(targets, results).map { ($0.id, $1) }
    }

    // MARK: Global calls

    /// Hands a worker's `globalBus` call to the service (from the worker's loop).
    func route(_ call: GlobalCall, from link: WorkerLink) {
        guard serving.load(ordering: .acquiring) else {
            let failure = WireFailure(code: .internal, message: "the sandbox service is not running: run it (Sandbox.withRuntime or SandboxService) to route globalBus traffic")
            return link.reply(GlobalRouting.failureReply(to: call, failure), to: call.id)
        }
        workInput.yield(.global(call, LoopBound(link, loop: link.loop)))
    }

    private func routeNow(_ call: GlobalCall, link: LoopBound<WorkerLink>) async {
        let reply = await GlobalRouting.answer(call, router: configuration.router)
        link.loop.execute { link.value.reply(reply, to: call.id) }
    }

    // MARK: Lifecycle

    /// Publishes a lifecycle change (from a loop; delivered in order by the service).
    func publish(_ change: SessionLifecycle) {
        lifecycleInput.yield(change)
    }

    private func deliver(_ change: SessionLifecycle) async {
        for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.yield(change) }
        if let handler = lifecycleHandler.withLock({ $0 }) { await handler(change) }
    }

    /// Every lifecycle change from now on (for `sandboxctl events`).
    func lifecycleChanges() -> AsyncStream<SessionLifecycle> {
        let (stream, continuation) = AsyncStream<SessionLifecycle>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let key = Int(CorrelationID.next())
        subscribers.withLock { $0[key] = continuation }
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLock { $0.removeValue(forKey: key) } }
        return stream
    }

    // MARK: Spares

    private func requestSpares(_ profile: SandboxProfile, libraries: [SealedPluginLibrary] = []) {
        guard configuration.sparesPerProfile > 0, spares.wantsMore(profile, libraries: libraries) else { return }
        workInput.yield(.refillSpares(profile, libraries))
    }

    private func refill(_ profile: SandboxProfile, libraries: [SealedPluginLibrary]) async {
        while !table.withLock({ $0.shuttingDown }), spares.beginRefill(profile, libraries: libraries) {
            let loop = nextLoop()
            do {
                let link = try await spawnWorker(profile: profile, limits: configuration.limits(profile), libraries: libraries,
                                                 assignment: nil, on: loop)
                await loop.submit { [spares] in
                    spares.launched(link)
                    link.owner = spares
                    link.start()
                }
            } catch {
                spares.refillFailed(profile, libraries: libraries)
                configuration.logger.warning("could not spawn a spare worker", metadata: ["profile": "\(profile.name)", "error": "\(error)"])
                return
            }
        }
    }

    /// Spawns spare workers for `profile` ahead of need (the host calls it for its profiles).
    func prewarm(_ profile: SandboxProfile) {
        spares.enable(profile)
        requestSpares(profile)
    }

    // MARK: Health

    private func startHealthTicks(on loop: EventLoop) {
        let interval = configuration.healthInterval
        let logger = configuration.logger
        loop.execute { [self] in
            var lastLagReport = ContinuousClock.now - .seconds(60)
            func tick() {
                let now = ContinuousClock.now
                let lag = loop.lag
                // The supervisor's own lateness is reported as such (at most once a second), never
                // blamed on a worker: heartbeats excuse silence while the loop runs late.
                if lag > interval, lastLagReport.duration(to: now) > .seconds(1) {
                    lastLagReport = now
                    logger.warning("supervisor lag: health checks ran late", metadata: ["loop": "\(loop.name)", "lag": "\(lag.formattedMilliseconds)"])
                }
                for session in hosted(on: loop).sessions { session.tick(now: now, loopLag: lag) }
                loop.schedule(at: now + interval, tick)
            }
            loop.schedule(at: .now + interval, tick)
        }
    }

    private let hostedSessions = Mutex<[ObjectIdentifier: LoopSessions]>([:])

    /// The sessions hosted on `loop` (loop thread only).
    private func hosted(on loop: EventLoop) -> LoopSessions {
        hostedSessions.withLock { map in
            if let existing = map[ObjectIdentifier(loop)] { return existing }
            let created = LoopSessions()
            map[ObjectIdentifier(loop)] = created
            return created
        }
    }

    // MARK: Shutdown

    /// Disposes every session, drains the service and stops the loops.
    func shutdown(timeout: Duration = .seconds(2)) async {
        let targets = table.withLock { table -> [SupervisedSession] in
            table.shuttingDown = true
            return table.order.compactMap { table.live[$0] }
        }
        await withTaskGroup(of: Void.self) { group in
            for session in targets { group.addTask { _ = await session.dispose(timeout: timeout) } }
        }
        // Restarts and refills in flight finish first (on loops still running); a spare that one
        // of them launched is in the pool by then.
        workInput.finish()
        await workHasDrained()
        for link in spares.drain() {
            await link.loop.submit { link.terminate(.supervisorShutdown) }
        }
        lifecycleInput.finish()
        for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.finish() }
        for loop in loops { await loop.shutdown() }
    }
}

/// The sessions one loop hosts, for its health ticks (touched on that loop only).
final class LoopSessions: @unchecked Sendable {
    // @unchecked: only the owning loop's thread reads or writes `members`.
    private var members: [ObjectIdentifier: SupervisedSession] = [:]

    func insert(_ session: SupervisedSession) { members[ObjectIdentifier(session)] = session }
    func remove(_ session: SupervisedSession) { members[ObjectIdentifier(session)] = nil }
    var sessions: Dictionary<ObjectIdentifier, SupervisedSession>.Values { members.values }
}
