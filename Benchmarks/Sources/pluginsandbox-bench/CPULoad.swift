import CBaselines

/// Two CPU hogs beside the benchmark (busy-looping children forked in C, which die with this
/// process): the "loaded" rows run with them, the C baselines of those rows too.
enum CPULoad {
    /// The number of hogs: as many as this machine's cores (two here).
    static let hogs = 2

    /// Runs `body` while `hogs` busy loops run.
    static func withHogs<Result>(_ body: () async throws -> Result) async throws -> Result {
        var pids = [Int32](repeating: 0, count: hogs)
        let started = cb_hogs_start(Int32(hogs), &pids)
        guard started == 0 else { throw BenchError(step: "cb_hogs_start", code: started) }
        defer { cb_hogs_stop(Int32(hogs), pids) }
        return try await body()
    }
}
