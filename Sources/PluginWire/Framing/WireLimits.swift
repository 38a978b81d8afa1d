/// The fixed numbers of the framing layer.
public enum WireLimits {
    /// Size of the big-endian length header that precedes every frame body.
    public static let headerLength = 4
    /// Default maximum frame body length (1 MiB), used until a profile negotiates another.
    public static let defaultMaximumFrameLength = 1 << 20
    /// Largest body length the 4-byte header can express.
    public static let largestEncodableLength = Int(UInt32.max)
}
