import Foundation
import VLMRuntime

/// Sampled frames as an AsyncSequence, decoded on a background thread into a bounded buffer:
/// the decoder blocks when `capacity` frames wait unconsumed (backpressure), so memory stays
/// flat however long the video, and encoding of early frames overlaps decoding of later ones.
/// Cancelling the consuming task (or dropping the iterator) stops decoding and releases the
/// FFmpeg state.
public struct FrameStream: AsyncSequence, Sendable {
    public typealias Element = VideoFrame

    let path: String
    let sampling: FrameSampling
    let capacity: Int
    let size: (@Sendable (Int, Int) -> (Int, Int))?

    public init(path: String, sampling: FrameSampling, capacity: Int = 4, size: (@Sendable (Int, Int) -> (Int, Int))? = nil) {
        self.path = path; self.sampling = sampling; self.capacity = Swift.max(1, capacity); self.size = size
    }

    /// Shared between the decoding thread and the consumer.
    final class Gate: @unchecked Sendable {
        let slots: DispatchSemaphore
        private let lock = NSLock()
        private var stopped = false
        init(capacity: Int) { slots = DispatchSemaphore(value: capacity) }
        var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }
        func stop() { lock.lock(); stopped = true; lock.unlock(); slots.signal() }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<VideoFrame, Error>.AsyncIterator
        let gate: Gate
        public mutating func next() async throws -> VideoFrame? {
            let frame = try await base.next()
            if frame != nil { gate.slots.signal() }   // one buffer slot free again
            return frame
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        let gate = Gate(capacity: capacity)
        let (stream, continuation) = AsyncThrowingStream<VideoFrame, Error>.makeStream(bufferingPolicy: .unbounded)
        continuation.onTermination = { _ in gate.stop() }
        let path = self.path, sampling = self.sampling, size = self.size
        Thread.detachNewThread {
            do {
                let reader = try VideoReader(path: path)
                try reader.read(sampling, size: size) { frame in
                    gate.slots.wait()
                    if gate.isStopped { return false }
                    continuation.yield(frame)
                    return true
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        return AsyncIterator(base: stream.makeAsyncIterator(), gate: gate)
    }
}
