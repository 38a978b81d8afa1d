import CConfinementCalls
import PluginSystem
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// One worker's start, laid out before it runs: the C sequence `psc_start_worker` reads it in the
/// new process, which therefore runs no allocator and no runtime on its way to confinement, and
/// the confinement report and its bootstrap message are already encoded.
///
/// Order (each step needs the ones before it): the parent-death signal and a check that the
/// supervisor is the parent → the cgroups → descriptors placed, the rest closed → signals reset,
/// environment, title → the capability bounding set (needs CAP_SETPCAP) → identity (a uid change
/// clears the parent-death signal, so that comes again later) → capabilities → rlimits →
/// `no_new_privs` → Landlock (needs `no_new_privs` once capabilities are gone) → the
/// parent-death signal again → seccomp, last, with a listener for the supervisor. A layer the
/// profile requires that cannot be engaged fails the start, unless the profile lists it in
/// `allowDegraded`; the report then says `DEGRADED`.
///
/// Created in the process that forks (its memory is the child's copy), used once in the child.
final class WorkerStart {
    /// How a start ended, in the new process.
    enum Outcome {
        /// Confined and reported over the bootstrap channel (now closed).
        case reported(ConfinementReport)
        /// Confined, but a layer degraded: the report, its bootstrap message, and the seccomp
        /// listener, for the caller to send.
        case confined(ConfinementReport, message: [UInt8], listener: FileDescriptor?)
        /// Confined, but the report could not be sent (the supervisor is gone).
        case unreported
        /// The supervisor is not (or no longer) the parent.
        case orphaned
        /// A step failed: the failure to report.
        case failed(WorkerStartFailure)
    }

    private var raw = psc_worker_start()
    private var buffers: [UnsafeMutableRawPointer] = []
    private var strings: [CStringArray] = []
    /// The report's layers, each with the step that engages it (nil: the preparation did).
    private let layers: [(step: Int32?, layer: EngagedLayer)]

    /// Lays out the start of a worker for `plan` under `prepared`. `placements` move descriptors
    /// into their slots (every source above every slot), then every descriptor from `firstFree`
    /// up is closed; `ruleset` is the Landlock ruleset as the worker will hold it.
    init(
        prepared: PreparedConfinement,
        plan: WorkerLaunchPlan,
        joins: [FileDescriptor],
        joinGate: FileDescriptor? = nil,
        placements: [(source: FileDescriptor, slot: Int32)],
        firstFree: Int32?,
        ruleset: FileDescriptor?
    ) {
        let profile = prepared.profile
        raw.started_ns = psc_now()
        var allocated: [UnsafeMutableRawPointer] = []
        func copy<Element>(_ values: [Element]) -> UnsafeMutablePointer<Element> {
            let buffer = UnsafeMutablePointer<Element>.allocate(capacity: max(values.count, 1))
            buffer.initialize(from: values, count: values.count)
            allocated.append(UnsafeMutableRawPointer(buffer))
            return buffer
        }
        var layers: [(step: Int32?, layer: EngagedLayer)] = prepared.layers.map { (nil, $0) }
        raw.supervisor_pid = plan.supervisorPID
        raw.joins = UnsafePointer(copy(joins.map(\.rawValue)))
        raw.join_count = Int32(joins.count)
        raw.join_gate = joinGate?.rawValue ?? -1
        raw.sources = UnsafePointer(copy(placements.map(\.source.rawValue)))
        raw.slots = UnsafePointer(copy(placements.map(\.slot)))
        raw.placement_count = Int32(placements.count)
        raw.first_free = firstFree ?? -1
        let environment = CStringArray(plan.environmentStrings)
        let title = CStringArray([ProcessTitle.worker(session: plan.sessionID)])
        let name = CStringArray([ProcessTitle.threadName(ProcessTitle.worker(session: plan.sessionID))])
        strings = [environment, title, name]
        raw.environment = environment.pointer
        raw.title = UnsafePointer(title.pointer[0])
        raw.thread_name = UnsafePointer(name.pointer[0])

        raw.drop_capabilities = profile.identity.dropCapabilities ? 1 : 0
        if profile.identity.switchUser, let identity = plan.identity, geteuid() == 0 {
            raw.switch_user = 1
            raw.uid = identity.uid
            raw.gid = identity.gid
            layers.append((Int32(PSC_STEP_IDENTITY.rawValue), EngagedLayer(name: "identity", detail: "uid \(identity.uid) gid \(identity.gid), no groups")))
        }
        if profile.identity.dropCapabilities {
            layers.append((Int32(PSC_STEP_CAPABILITIES.rawValue), EngagedLayer(name: "capabilities", detail: "all dropped, bounding set cleared")))
        }
        let limits: [(Int32, UInt64?, String)] = [
            (psc_rlimit_address_space, profile.rlimits.addressSpaceBytes, "as"), (psc_rlimit_open_files, profile.rlimits.openFiles, "nofile"),
            (psc_rlimit_processes, profile.rlimits.processes, "nproc"), (psc_rlimit_cpu, profile.rlimits.cpuSeconds, "cpu"),
            (psc_rlimit_core, profile.rlimits.coreBytes, "core"), (psc_rlimit_file_size, profile.rlimits.fileSizeBytes, "fsize"),
        ]
        let active = limits.compactMap { resource, value, name in value.map { (resource, $0, name) } }
        raw.rlimit_resources = UnsafePointer(copy(active.map(\.0)))
        raw.rlimit_values = UnsafePointer(copy(active.map(\.1)))
        raw.rlimit_count = Int32(active.count)
        if !active.isEmpty {
            layers.append((Int32(PSC_STEP_RLIMITS.rawValue), EngagedLayer(name: "rlimits", detail: active.map { "\($0.2)=\($0.1)" }.joined(separator: " "))))
        }
        layers.append((Int32(PSC_STEP_NO_NEW_PRIVS.rawValue), EngagedLayer(name: "no_new_privs", detail: "PR_SET_NO_NEW_PRIVS")))
        raw.landlock_ruleset = -1
        if let landlock = prepared.landlock, let ruleset {
            raw.landlock_ruleset = ruleset.rawValue
            layers.append((Int32(PSC_STEP_LANDLOCK.rawValue), EngagedLayer(name: "landlock", detail: landlock.detail)))
        }
        layers.append((Int32(PSC_STEP_PDEATHSIG.rawValue), EngagedLayer(name: "pdeathsig", detail: "SIGKILL on supervisor death")))
        if let seccomp = prepared.seccomp {
            raw.seccomp_program = UnsafeRawPointer(seccomp.program.instructions)
            raw.seccomp_count = Int32(seccomp.program.count)
            layers.append((Int32(PSC_STEP_SECCOMP.rawValue), EngagedLayer(name: "seccomp", detail: seccomp.detail)))
        }
        var degradable: UInt32 = 0
        for (step, name) in Self.stepNames where profile.allowDegraded.contains(name) { degradable |= 1 << UInt32(step) }
        // A failed descriptor, cgroup or parent step never degrades (the C sequence refuses to).
        raw.degradable = degradable
        let (report, timingOffset) = BootstrapMessage.confinedTemplate(layers.map(\.layer), timingWidth: Int(PSC_TIMING_WIDTH))
        raw.timing_offset = Int32(timingOffset)
        let bytes = UnsafeMutablePointer<CChar>.allocate(capacity: report.count)
        report.withUnsafeBytes { bytes.initialize(from: $0.bindMemory(to: CChar.self).baseAddress!, count: report.count) }
        allocated.append(UnsafeMutableRawPointer(bytes))
        raw.report = bytes
        raw.report_length = Int32(report.count)
        raw.report_channel = WorkerChannels.Slot.bootstrap
        self.layers = layers
        buffers = allocated
    }

    /// Notes that the worker's process begins now: right before the fork, or at the start of an
    /// exec'd worker (nanoseconds of `psc_now`).
    func markStart(at nanoseconds: Int64 = psc_now()) {
        raw.started_ns = nanoseconds
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
        for array in strings { array.release() }
    }

    /// The name of each step, as profiles and reports call its layer.
    private static let stepNames: [Int32: String] = [
        Int32(PSC_STEP_PARENT.rawValue): "pdeathsig", Int32(PSC_STEP_CGROUP.rawValue): "cgroup",
        Int32(PSC_STEP_DESCRIPTORS.rawValue): "descriptors", Int32(PSC_STEP_CAPABILITIES.rawValue): "capabilities",
        Int32(PSC_STEP_IDENTITY.rawValue): "identity", Int32(PSC_STEP_RLIMITS.rawValue): "rlimits",
        Int32(PSC_STEP_NO_NEW_PRIVS.rawValue): "no_new_privs", Int32(PSC_STEP_LANDLOCK.rawValue): "landlock",
        Int32(PSC_STEP_PDEATHSIG.rawValue): "pdeathsig", Int32(PSC_STEP_SECCOMP.rawValue): "seccomp",
    ]

    /// Runs the start in the new process, single-threaded, before any plugin code.
    func run() -> Outcome {
        let result = psc_start_worker(&raw)
        if result < 0 {
            let step = raw.failed_step
            if step == Int32(PSC_STEP_PARENT.rawValue) || (step == Int32(PSC_STEP_PDEATHSIG.rawValue) && -result == ESRCH) {
                return .orphaned
            }
            let name = Self.stepNames[step] ?? "step \(step)"
            let error = ConfinementError(layer: name, errno: -result, detail: layers.first { $0.step == step }?.layer.detail ?? "")
            return .failed(WorkerStartFailure(stage: step <= Int32(PSC_STEP_DESCRIPTORS.rawValue) ? name : "confinement", detail: error.description))
        }
        var report = ConfinementReport(layers: layers.map(\.layer), spawnMicroseconds: Int(raw.elapsed_us))
        switch raw.reported {
        case 1: return .reported(report)
        case ..<0: return .unreported
        default: break
        }
        report.layers = layers.map { entry in
            guard let step = entry.step, raw.degraded & (1 << UInt32(step)) != 0 else { return entry.layer }
            let code = withUnsafeBytes(of: raw.degraded_errno) { $0.load(fromByteOffset: Int(step) * 4, as: Int32.self) }
            return EngagedLayer(name: entry.layer.name, detail: "DEGRADED: \(String(cString: strerror(code))) (errno \(code))")
        }
        let bytes = BootstrapMessage.confined(report, listener: nil).encoded()
        return .confined(report, message: bytes, listener: raw.listener >= 0 ? FileDescriptor(rawValue: raw.listener) : nil)
    }
}
