/// Writes frames: a 4-byte big-endian body length followed by the body, in one buffer.
public enum FrameEncoder {
    /// Returns header and body in one contiguous buffer, ready for a single `write`.
    ///
    /// - Precondition: `body` is not longer than ``WireLimits/largestEncodableLength``.
    public static func encode(body: some Collection<UInt8>) -> [UInt8] {
        var frame: [UInt8] = []
        append(body: body, to: &frame)
        return frame
    }

    /// Appends header and body to `buffer`, so several frames can share one write.
    ///
    /// - Precondition: `body` is not longer than ``WireLimits/largestEncodableLength``.
    @inlinable
    public static func append(body: some Collection<UInt8>, to buffer: inout [UInt8]) {
        let appended: Void? = body.withContiguousStorageIfAvailable { append(body: UnsafeRawBufferPointer($0), to: &buffer) }
        if appended == nil { Array(body).withUnsafeBytes { append(body: $0, to: &buffer) } }
    }

    /// Appends header and body to `buffer`, so several frames can share one write.
    ///
    /// - Precondition: `body` is not longer than ``WireLimits/largestEncodableLength``.
    public static func append(body: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        let length = body.count
        precondition(length <= WireLimits.largestEncodableLength, "frame body of \(length) bytes cannot be framed")
        let needed = buffer.count + WireLimits.headerLength + length
        if buffer.capacity < needed { buffer.reserveCapacity(max(needed, buffer.capacity * 2)) }
        appendHeader(length: length, to: &buffer)
        buffer.append(contentsOf: body)
    }

    /// Appends only the 4-byte big-endian header announcing `length` body bytes.
    ///
    /// Used when the body is written straight into the same buffer afterwards.
    public static func appendHeader(length: Int, to buffer: inout [UInt8]) {
        precondition(length >= 0 && length <= WireLimits.largestEncodableLength, "frame length \(length) out of range")
        let value = UInt32(length)
        buffer.append(UInt8(truncatingIfNeeded: value >> 24))
        buffer.append(UInt8(truncatingIfNeeded: value >> 16))
        buffer.append(UInt8(truncatingIfNeeded: value >> 8))
        buffer.append(UInt8(truncatingIfNeeded: value))
    }
}
