import CDescriptorCalls
import PluginSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The state of the ``SpawnDispatcher`` thread: the main zygote's link, one link per profile
/// zygote (at most ``profileZygoteLimit``, the least recently used idle one evicted for a new one),
/// and the epoll that watches them. Touched only by the dispatcher thread.
final class DispatchLoop {
    typealias Completion = SpawnDispatcher.Completion

    /// The most profile zygotes kept at once.
    static let profileZygoteLimit = 8
    private static let wakeToken: UInt64 = 0
    private static let mainToken: UInt64 = 1

    let inbox: SpawnInbox
    private let epoll: Epoll
    private let wake: EventSignal
    private var main: MainZygoteLink?
    private var mainGone = false
    private var profiles: [ProfileKey: ProfileZygoteLink] = [:]
    private var byToken: [UInt64: ProfileZygoteLink] = [:]
    private var nextToken: UInt64 = 2
    private var deferred: [(SpawnJob, Completion)] = []
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init() throws(SystemCallError) {
        epoll = try Epoll()
        wake = try EventSignal()
        try epoll.add(wake.descriptor, for: .readable, token: Self.wakeToken)
        inbox = SpawnInbox(wake: wake.descriptor)
    }

    func run() -> Never {
        let events = UnsafeMutableBufferPointer<psd_ready_event>.allocate(capacity: 64)
        while true {
            let count = (try? epoll.wait(into: events, timeoutMilliseconds: -1)) ?? 0
            for event in events.prefix(count) {
                let readiness = Readiness(rawValue: event.events)
                switch event.token {
                case Self.wakeToken:
                    wake.drain()
                    for (job, completion) in inbox.take() { accept(job, completion) }
                case Self.mainToken:
                    mainReady(readiness)
                default:
                    if let link = byToken[event.token] { profileReady(link, readiness) }
                }
            }
            if !deferred.isEmpty {
                let waiting = deferred
                deferred.removeAll()
                for (job, completion) in waiting { accept(job, completion) }
            }
        }
    }

    // MARK: Jobs

    private func accept(_ job: SpawnJob, _ completion: @escaping Completion) {
        switch job {
        case .exec(let plan, let executable, let joins, let cgroup, let libraries):
            do throws(SpawnError) {
                completion(.success(try ExecLauncher.spawn(plan, executable: executable, joins: joins, cgroup: cgroup, libraries: libraries)))
            } catch {
                completion(.failure(error))
            }
        case .raw(let bytes):
            guard let main = mainLink() else { return completion(.failure(Self.unavailable("no zygote runs"))) }
            main.outbox.append((bytes, .raw(completion)))
            flushMain()
        case .zygote(let plan, let profile, let joins, let cgroup, let libraries):
            let key = ProfileKey(profile)
            let request: [UInt8]
            do throws(SpawnError) {
                request = try plan.encoded()
            } catch {
                return completion(.failure(error))
            }
            let spawn = PendingSpawn(request: request, descriptors: joins + (cgroup.map { [$0] } ?? []) + libraries, completion: completion)
            if let link = profiles[key] {
                link.queued.append(spawn)
                link.lastUsed = .now
                return flush(link)
            }
            if profiles.count >= Self.profileZygoteLimit && !evictIdleZygote() {
                return deferred.append((job, completion))
            }
            guard let main = mainLink() else { return completion(.failure(Self.unavailable("no zygote runs"))) }
            let start: [UInt8]
            do throws(SpawnError) {
                start = try encodeMessage(ProfileZygoteRequest(profile: profile))
            } catch {
                return completion(.failure(error))
            }
            let link = ProfileZygoteLink(key: key, profileName: profile.name)
            link.queued.append(spawn)
            profiles[key] = link
            main.outbox.append((start, .profile(key)))
            flushMain()
        }
    }

    private static func unavailable(_ detail: String) -> SpawnError {
        SpawnError(step: .zygoteUnavailable, errno: ESRCH, detail: detail)
    }

    // MARK: The main zygote

    private func mainLink() -> MainZygoteLink? {
        if let main { return main }
        guard !mainGone, let client = ZygoteClient.current, client.isAlive else { return nil }
        do throws(SystemCallError) {
            try client.socket.setNonBlocking()
            try epoll.add(client.socket, for: .readable, token: Self.mainToken)
        } catch {
            mainGone = true
            return nil
        }
        let link = MainZygoteLink(socket: client.socket)
        main = link
        return link
    }

    private func flushMain() {
        guard let main else { return }
        while let (bytes, awaiting) = main.outbox.first {
            switch send(bytes, passing: [], over: main.descriptor) {
            case .sent:
                main.outbox.removeFirst()
                main.awaiting.append(awaiting)
            case .wouldBlock:
                return watchWrites(main, true, token: Self.mainToken)
            case .peerGone:
                return mainFailed()
            case .failed(let error):
                main.outbox.removeFirst()
                fail(awaiting, SpawnError(step: .zygoteSend, error))
            }
        }
        watchWrites(main, false, token: Self.mainToken)
    }

    private func mainReady(_ readiness: Readiness) {
        guard let main else { return }
        if readiness.contains(.writable) { flushMain() }
        while self.main != nil {
            switch receive(from: main.descriptor, descriptorCapacity: ZygoteReply.profileZygoteDescriptors) {
            case .nothing:
                return
            case .ended:
                return mainFailed()
            case .failed(let error):
                if main.awaiting.isEmpty { return mainFailed() }
                fail(main.awaiting.removeFirst(), error)
            case .reply(let reply, let descriptors):
                guard !main.awaiting.isEmpty else {
                    for descriptor in descriptors { descriptor.closeAfterUse() }
                    continue
                }
                mainReplied(reply, descriptors, to: main.awaiting.removeFirst())
            }
        }
    }

    private func mainReplied(_ reply: ZygoteReply, _ descriptors: [FileDescriptor], to awaiting: MainZygoteLink.Awaiting) {
        let started = reply.pid.flatMap { pid in
            descriptors.count == ZygoteReply.profileZygoteDescriptors ? (pid, descriptors[0], descriptors[1]) : nil
        }
        if started == nil { for descriptor in descriptors { descriptor.closeAfterUse() } }
        let failure = reply.failure ?? SpawnError(step: .zygoteReply, errno: EPROTO, detail: "a reply without its descriptors")
        switch awaiting {
        case .raw(let completion):
            // A raw request that was valid started a profile zygote nobody asked for: end it.
            if let (pid, pidfd, socket) = started {
                retire(ProcessHandle(pid: pid, pidfd: pidfd), socket: socket)
                completion(.success(nil))
            } else {
                completion(.failure(failure))
            }
        case .profile(let key):
            guard let link = profiles[key], let (pid, pidfd, socket) = started else {
                if let (pid, pidfd, socket) = started { retire(ProcessHandle(pid: pid, pidfd: pidfd), socket: socket) }
                if let link = profiles[key] { failLink(link, failure) }
                return
            }
            let token = nextToken
            nextToken += 1
            link.connect(process: ProcessHandle(pid: pid, pidfd: pidfd), socket: socket, token: token)
            do throws(SystemCallError) {
                try socket.setNonBlocking()
                try epoll.add(socket, for: .readable, token: token)
            } catch {
                return failLink(link, SpawnError(step: .zygoteStart, error))
            }
            byToken[token] = link
        }
    }

    private func mainFailed() {
        guard let main else { return }
        try? epoll.remove(main.descriptor)
        self.main = nil
        mainGone = true
        let error = Self.unavailable("the zygote ended")
        for (_, awaiting) in main.outbox { fail(awaiting, error) }
        for awaiting in main.awaiting { fail(awaiting, error) }
    }

    private func fail(_ awaiting: MainZygoteLink.Awaiting, _ error: SpawnError) {
        switch awaiting {
        case .raw(let completion): completion(.failure(error))
        case .profile(let key): if let link = profiles[key] { failLink(link, error) }
        }
    }

    // MARK: Profile zygotes

    private func flush(_ link: ProfileZygoteLink) {
        guard link.phase == .ready, let socket = link.socket else { return }
        while let spawn = link.queued.first {
            switch send(spawn.request, passing: spawn.descriptors, over: socket) {
            case .sent:
                link.queued.removeFirst()
                link.awaiting.append(spawn.completion)
            case .wouldBlock:
                return watchWrites(link, true, token: link.token)
            case .peerGone:
                return failLink(link, Self.unavailable("the zygote of profile \(link.profileName) ended"))
            case .failed(let error):
                link.queued.removeFirst()
                spawn.completion(.failure(SpawnError(step: .zygoteSend, error)))
            }
        }
        watchWrites(link, false, token: link.token)
    }

    private func profileReady(_ link: ProfileZygoteLink, _ readiness: Readiness) {
        guard let socket = link.socket else { return }
        if readiness.contains(.writable) { flush(link) }
        while profiles[link.key] === link {
            switch receive(from: socket, descriptorCapacity: ZygoteReply.workerDescriptors) {
            case .nothing:
                return
            case .ended:
                return failLink(link, Self.unavailable("the zygote of profile \(link.profileName) ended"))
            case .failed(let error):
                guard link.phase == .ready, !link.awaiting.isEmpty else { return failLink(link, error) }
                link.awaiting.removeFirst()(.failure(error))
            case .reply(let reply, let descriptors):
                if link.phase == .settingUp {
                    for descriptor in descriptors { descriptor.closeAfterUse() }
                    if let failure = reply.failure { return failLink(link, failure) }
                    link.markReady()
                    flush(link)
                    continue
                }
                guard !link.awaiting.isEmpty else {
                    for descriptor in descriptors { descriptor.closeAfterUse() }
                    continue
                }
                let completion = link.awaiting.removeFirst()
                if let pid = reply.pid, descriptors.count == ZygoteReply.workerDescriptors {
                    completion(.success(SpawnOutcome(
                        pid: pid, pidfd: descriptors[0], socket: descriptors[1], output: descriptors[2], bootstrap: descriptors[3])))
                } else {
                    for descriptor in descriptors { descriptor.closeAfterUse() }
                    completion(.failure(reply.failure ?? SpawnError(step: .zygoteReply, errno: EPROTO, detail: "a reply without its descriptors")))
                }
            }
        }
    }

    /// Ends a profile zygote's link: every spawn queued or in flight there fails with `error`.
    private func failLink(_ link: ProfileZygoteLink, _ error: SpawnError) {
        remove(link)
        for spawn in link.queued { spawn.completion(.failure(error)) }
        for completion in link.awaiting { completion(.failure(error)) }
        link.queued.removeAll()
        link.awaiting.removeAll()
    }

    /// Evicts the least recently used idle profile zygote; false when none is idle.
    private func evictIdleZygote() -> Bool {
        let idle = profiles.values.filter { $0.phase == .ready && $0.queued.isEmpty && $0.awaiting.isEmpty }
        guard let oldest = idle.min(by: { $0.lastUsed < $1.lastUsed }) else { return false }
        remove(oldest)
        return true
    }

    private func remove(_ link: ProfileZygoteLink) {
        if profiles[link.key] === link { profiles[link.key] = nil }
        byToken[link.token] = nil
        if let socket = link.socket { try? epoll.remove(socket) }
        if let process = link.process, let socket = link.socket { retire(process, socket: socket) }
        link.disconnect()
    }

    /// Ends a profile zygote: closes its socket (it exits at end of stream), kills it in case it is
    /// stuck, and reaps it (it is the host's child).
    private func retire(_ process: ProcessHandle, socket: FileDescriptor) {
        socket.closeAfterUse()
        try? process.signal(SIGKILL)
        _ = try? process.waitForTermination()
        process.close()
    }

    // MARK: Socket I/O

    private enum SendResult {
        case sent, wouldBlock, peerGone
        case failed(SystemCallError)
    }

    private func send(_ bytes: [UInt8], passing descriptors: [FileDescriptor], over socket: FileDescriptor) -> SendResult {
        do throws(SystemCallError) {
            try socket.sendMessage(bytes, passing: descriptors)
            return .sent
        } catch {
            switch error.errno {
            case .wouldBlock, .resourceTemporarilyUnavailable: return .wouldBlock
            case .brokenPipe, .connectionReset: return .peerGone
            default: return .failed(error)
            }
        }
    }

    private enum ReceiveResult {
        case nothing, ended
        case failed(SpawnError)
        case reply(ZygoteReply, [FileDescriptor])
    }

    private func receive(from socket: FileDescriptor, descriptorCapacity: Int) -> ReceiveResult {
        let received: (count: Int, descriptors: [FileDescriptor])
        do throws(SystemCallError) {
            received = try socket.receiveMessage(into: &buffer, descriptorCapacity: descriptorCapacity)
        } catch {
            switch error.errno {
            case .wouldBlock, .resourceTemporarilyUnavailable: return .nothing
            case .connectionReset: return .ended
            default: return .failed(SpawnError(step: .zygoteReceive, error))
            }
        }
        if received.count == 0 { return .ended }
        do {
            return .reply(try ZygoteReply.decode(buffer[0..<received.count]), received.descriptors)
        } catch {
            for descriptor in received.descriptors { descriptor.closeAfterUse() }
            return .failed(error)
        }
    }

    private func watchWrites(_ link: some ZygoteLink, _ on: Bool, token: UInt64) {
        guard link.watchingWrites != on, let socket = link.socket else { return }
        link.watchingWrites = on
        try? epoll.modify(socket, for: on ? [.readable, .writable] : .readable, token: token)
    }
}
