extension SandboxDoctor {
    /// One doctor row per cgroup resource: engaged (version and where) or DEGRADED (why), and what
    /// the profile asks of it. A row the profile needs blocks spawns unless `allowDegraded` lists `cgroup`.
    static func cgroupLayers(profile: SandboxProfile, engagement: [CgroupEngagement] = CgroupController.probe()) -> [DoctorReport.Layer] {
        let resources = profile.resources
        let degradable = profile.allowDegraded.contains(CgroupController.layerName)
        return engagement.map { line in
            var asked: String?
            switch line.resource {
            case .memory: asked = resources?.memoryBytes.map { ByteCount.describe($0) + " hard limit, kernel memory included" }
            case .cpu:
                let quota = resources?.cpuPercent.map { "\($0)% of one CPU" }
                let weight = resources?.cpuWeight.map { "weight \($0)" }
                asked = [quota, weight].compactMap { $0 }.joined(separator: ", ").nonEmpty
            case .cpuAccounting: asked = resources?.cpuBudget.map { "budget \(seconds($0.seconds)) s of CPU per \(seconds($0.windowSeconds)) s" }
            case .pids: asked = resources?.pids.map { "\($0) tasks" }
            default: asked = nil
            }
            let kernel: String
            switch line.state {
            case .engaged(let version, let directory): kernel = "\(version) \(directory)"
            case .degraded(let reason): kernel = "DEGRADED: \(reason)"
            }
            let profileText = asked.map { degradable && line.version == nil ? "\($0) (allowDegraded: runs without)" : $0 } ?? "not used"
            return DoctorReport.Layer(name: "cgroup \(line.resource)", supported: line.version != nil, kernel: kernel,
                                      profile: profileText, degradable: degradable)
        }
    }

    private static func seconds(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
