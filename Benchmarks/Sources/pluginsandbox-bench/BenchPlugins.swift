import FaultPlugins
import PluginKit
import Synchronization

/// A 100-byte-ish event.
struct BenchEvent: WireEvent, Equatable {
    var sequence: Int
    var text: String
}

/// Answered inside the worker: a plain round trip.
struct BenchPing: WireRequest {
    typealias Response = Int
    var sequence: Int
    var text: String
}

/// Answered inside the worker after one emit to the global bus: worker → global → worker.
struct BenchGlobalTrip: WireRequest {
    typealias Response = Int
    var sequence: Int
    var text: String
}

/// The session plugin the benchmark's workers run.
struct BenchSessionPlugin: SessionPlugin {
    let id: PluginID = "bench"
    func attach(_ context: SessionPluginContext) async throws {
        context.on(BenchEvent.self, for: id) { envelope in envelope.payload.sequence += 1 }
        context.onRequest(BenchPing.self, for: id) { $0.sequence }
        context.onRequest(BenchGlobalTrip.self, for: id) { request in
            let envelope = try await context.globalBus.emit(BenchEvent(sequence: request.sequence, text: request.text))
            return envelope.payload.sequence
        }
    }
}

/// The global plugin: answers the workers' global emits and the flood plugin's requests.
struct BenchGlobalPlugin: GlobalPlugin {
    let id: PluginID = "bench-global"
    func attach(_ context: GlobalPluginContext) async throws {
        context.on(BenchEvent.self, for: id) { envelope in envelope.payload.sequence += 1 }
        context.onRequest(FloodRequest.self, for: id) { $0.index }
    }
}

enum BenchPlugins {
    /// Every worker offers the bench plugin and, for the attack rows, the fault plugin (floods
    /// until the supervisor ends it) and the flood plugin (valid traffic as fast as allowed).
    static let catalog = SessionPluginCatalog([{ BenchSessionPlugin() }, { FaultPlugin() }, { FloodPlugin() }])
    /// 100 bytes of JSON payload around a sequence number.
    static let text = String(repeating: "p", count: 64)
}
