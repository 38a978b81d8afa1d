#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PluginSystem
import PluginWire
import SystemPackage

/// The one message a worker sends on its bootstrap channel (``SpawnedWorker/bootstrap``), before
/// it runs any plugin code and closes its end: either it is confined, with its confinement report
/// and (when its profile has a filter) its seccomp listener, or it could not start, and why.
public enum BootstrapMessage: Sendable {
    /// The worker is confined; `listener` carries its violations (nil when the profile has no filter).
    case confined(ConfinementReport, listener: SeccompListener?)
    /// The worker could not start; it exits with ``WorkerBootstrap/confinementFailureExitCode``.
    case failed(WorkerStartFailure)

    /// The longest message accepted.
    public static let maximumLength = 64 * 1024

    private struct Envelope: Codable {
        var confined: ConfinementReport?
        var failed: WorkerStartFailure?
    }

    /// Reads the worker's message from `channel` without blocking: nil when it has not arrived yet.
    ///
    /// Every claim is checked: one JSON object of at most ``maximumLength`` bytes, exactly one
    /// descriptor when (and only when) the report says seccomp is engaged, and that descriptor a
    /// seccomp listener. A channel that ends without a message means the worker died before it
    /// could report. Received descriptors are closed on every failure.
    public static func receive(from channel: FileDescriptor) throws(BootstrapError) -> BootstrapMessage? {
        var buffer = [UInt8](repeating: 0, count: maximumLength + 1)
        let count: Int
        var descriptors: [FileDescriptor]
        do throws(SystemCallError) {
            (count, descriptors) = try channel.receiveMessage(into: &buffer, descriptorCapacity: 1)
        } catch {
            switch error.errno {
            case .wouldBlock, .resourceTemporarilyUnavailable: return nil
            case .messageTooLong: throw BootstrapError(.malformed, detail: "longer than \(maximumLength) bytes or more than one descriptor")
            case .connectionReset: throw BootstrapError(.closedWithoutMessage, detail: "the worker ended before it reported")
            default: throw BootstrapError(.receiveFailed, detail: "\(error)")
            }
        }
        func discard() { for descriptor in descriptors { descriptor.closeAfterUse() } }
        guard count > 0 else {
            discard()
            throw BootstrapError(.closedWithoutMessage, detail: "the worker ended before it reported")
        }
        guard count <= maximumLength, let envelope = try? RawJSON(validating: buffer[0..<count]).decode(Envelope.self) else {
            discard()
            throw BootstrapError(.malformed, detail: "not a bootstrap message (\(count) bytes)")
        }
        switch (envelope.confined, envelope.failed) {
        case (let report?, nil):
            let filtered = report.layers.contains { $0.name == "seccomp" && !$0.detail.hasPrefix("DEGRADED") }
            if filtered {
                guard let descriptor = descriptors.first else {
                    throw BootstrapError(.missingListener, detail: "the report says seccomp is engaged but no listener came with it")
                }
                descriptors.removeAll()
                return .confined(report, listener: try SeccompListener(adopting: descriptor))
            }
            guard descriptors.isEmpty else {
                discard()
                throw BootstrapError(.unexpectedDescriptor, detail: "a descriptor came with a report without seccomp")
            }
            return .confined(report, listener: nil)
        case (nil, let failure?):
            guard descriptors.isEmpty else {
                discard()
                throw BootstrapError(.unexpectedDescriptor, detail: "a descriptor came with a start failure")
            }
            return .failed(failure)
        default:
            discard()
            throw BootstrapError(.malformed, detail: "neither confined nor failed")
        }
    }

    /// The message's bytes (the listener travels beside them).
    func encoded() -> [UInt8] {
        let envelope: Envelope
        switch self {
        case .confined(let report, _): envelope = Envelope(confined: report, failed: nil)
        case .failed(let failure): envelope = Envelope(confined: nil, failed: failure)
        }
        return (try? RawJSON(encoding: envelope))?.bytes
            ?? Array(#"{"failed":{"stage":"bootstrap","detail":"unencodable message"}}"#.utf8)
    }
}

extension BootstrapMessage {
    /// The `confined` message for `layers` with `width` spaces left for the timing, and where they
    /// start: `{"confined":{"layers":[...],"spawnMicroseconds":<spaces>}}`. Written by hand (it is
    /// built for every spawn, right before the fork) and read back by ``receive(from:)``.
    static func confinedTemplate(_ layers: [EngagedLayer], timingWidth width: Int) -> (bytes: [UInt8], timingOffset: Int) {
        var bytes = Array(#"{"confined":{"layers":["#.utf8)
        for (index, layer) in layers.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += Array(#"{"name":"#.utf8)
            appendJSONString(layer.name, to: &bytes)
            bytes += Array(#","detail":"#.utf8)
            appendJSONString(layer.detail, to: &bytes)
            bytes.append(UInt8(ascii: "}"))
        }
        bytes += Array(#"],"spawnMicroseconds":"#.utf8)
        let offset = bytes.count
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: width) + Array("}}".utf8)
        return (bytes, offset)
    }

    /// Appends `text` as a JSON string (quotes, backslashes and control characters escaped).
    private static func appendJSONString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes += [UInt8(ascii: "\\"), byte]
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// A bootstrap channel that did not deliver a valid message.
public struct BootstrapError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case closedWithoutMessage, malformed, missingListener, unexpectedDescriptor, notASeccompListener, receiveFailed
        }

        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// The worker closed the channel (or died) without a message.
        public static let closedWithoutMessage = Reason(.closedWithoutMessage)
        /// The bytes were not one bootstrap message.
        public static let malformed = Reason(.malformed)
        /// The report says seccomp is engaged, but no listener came with it.
        public static let missingListener = Reason(.missingListener)
        /// A descriptor came where none belongs.
        public static let unexpectedDescriptor = Reason(.unexpectedDescriptor)
        /// The descriptor that came is not a seccomp listener.
        public static let notASeccompListener = Reason(.notASeccompListener)
        /// Reading the channel failed.
        public static let receiveFailed = Reason(.receiveFailed)

        /// The reason's name.
        public var description: String { kind.rawValue }
    }

    /// What was wrong.
    public let reason: Reason
    /// The particulars.
    public let detail: String

    /// Creates an error.
    public init(_ reason: Reason, detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "bootstrap channel: \(reason): \(detail)" }
}
