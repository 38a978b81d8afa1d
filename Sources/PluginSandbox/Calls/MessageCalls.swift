import PluginSystem
import SystemPackage

extension FileDescriptor {
    /// Sends `bytes` as one message with `descriptors` attached (`SCM_RIGHTS`).
    func sendMessage(_ bytes: [UInt8], passing descriptors: [FileDescriptor] = []) throws(SystemCallError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(SystemCallError) in try self.send(raw, passing: descriptors) }
        }
        _ = try result.get()
    }

    /// Receives one message into `buffer` with at most `capacity` descriptors; a count of 0 is the
    /// end of the stream (or an empty message).
    func receiveMessage(into buffer: inout [UInt8], descriptorCapacity capacity: Int) throws(SystemCallError) -> (count: Int, descriptors: [FileDescriptor]) {
        let result = buffer.withUnsafeMutableBytes { raw in
            Result { () throws(SystemCallError) in try self.receive(into: raw, descriptorCapacity: capacity) }
        }
        return try result.get()
    }
}
