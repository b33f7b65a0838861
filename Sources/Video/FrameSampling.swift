import VLMRuntime

/// Which frames of a video to read.
public enum FrameSampling: Sendable, Equatable {
    /// N frames spread uniformly: indices numpy.linspace(0, total - 1, N) truncated to
    /// integers, as LLaVA-OneVision's loading code does (`np.linspace(...).astype(int)`).
    case count(Int)
    /// One frame every 1/F seconds of presentation time: for each t = 0, 1/F, 2/F, ... below
    /// the duration, the first frame whose timestamp is at or after t (a frame is used once).
    case fps(Double)
    /// Every frame.
    case all

    /// The frame indices `.count(n)` picks out of `total` frames.
    public static func uniformIndices(total: Int, count n: Int) -> [Int] {
        guard total > 0, n > 0 else { return [] }
        if n == 1 { return [0] }
        return (0..<n).map { i in Int(Double(total - 1) * Double(i) / Double(n - 1)) }
    }
}

/// One decoded, sampled frame.
public struct VideoFrame: Sendable {
    /// Index of the frame in decode (presentation) order, counted from 0.
    public var index: Int
    /// Presentation time in seconds from the stream start.
    public var seconds: Double
    public var image: RGBImage
}
