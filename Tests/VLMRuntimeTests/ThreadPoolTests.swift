import XCTest
import CKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
@testable import VLMRuntime

/// The worker pool behind `Parallel.forRange` (`CKernels/thread_pool.c`): every chunk runs
/// exactly once, starts are never lost (workers that begin late, workers that park), concurrent
/// callers do not wait on each other, and a pool can be destroyed idle.
final class ThreadPoolTests: XCTestCase {
    /// Counts how often each chunk ran.
    final class Tally {
        var counts: [Int]
        init(_ n: Int) { counts = [Int](repeating: 0, count: n) }
    }

    static let bump: vlm_pool_fn = { ctx, chunk in
        let tally = ctx!.assumingMemoryBound(to: UnsafeMutablePointer<Int>.self).pointee
        tally[chunk] += 1
    }

    /// Runs `regions` regions of `chunks` chunks on `pool` and checks each chunk ran once per region.
    func runRegions(_ pool: OpaquePointer, regions: Int, chunks: Int, file: StaticString = #filePath, line: UInt = #line) {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: chunks)
        counts.initialize(repeating: 0, count: chunks)
        defer { counts.deallocate() }
        var box = counts
        for _ in 0..<regions { XCTAssertEqual(vlm_pool_run(pool, Self.bump, &box, chunks), 1, file: file, line: line) }
        for c in 0..<chunks { XCTAssertEqual(counts[c], regions, "chunk \(c)", file: file, line: line) }
    }

    func testManyTinyRegionsRunEachChunkOnce() {
        let pool = vlm_pool_create(2)!
        defer { vlm_pool_destroy(pool) }
        runRegions(pool, regions: 200_000, chunks: 5)
        var parallel: UInt64 = 0, inline: UInt64 = 0, busy: UInt64 = 0
        vlm_pool_counts(pool, &parallel, &inline, &busy)
        XCTAssertEqual(parallel, 200_000)
    }

    func testCreateRunDestroyRepeatedly() {
        for _ in 0..<2_000 {
            let pool = vlm_pool_create(2)!
            runRegions(pool, regions: 3, chunks: 4)
            vlm_pool_destroy(pool)
        }
    }

    /// Records which thread ran each chunk, each chunk taking ~0.5 ms so that every thread
    /// that is awake gets one.
    static let recordThread: vlm_pool_fn = { ctx, chunk in
        usleep(500)
        ctx!.assumingMemoryBound(to: UnsafeMutablePointer<UInt>.self).pointee[chunk] = UInt(pthread_self())
    }

    /// How many distinct threads ran the chunks of one slow region.
    func threadsJoining(_ pool: OpaquePointer, chunks: Int) -> Int {
        let ids = UnsafeMutablePointer<UInt>.allocate(capacity: chunks)
        ids.initialize(repeating: 0, count: chunks)
        defer { ids.deallocate() }
        var box = ids
        XCTAssertEqual(vlm_pool_run(pool, Self.recordThread, &box, chunks), 1)
        XCTAssertFalse((0..<chunks).contains { ids[$0] == 0 }, "a chunk did not run")
        return Set((0..<chunks).map { ids[$0] }).count
    }

    /// Workers that start 10 ms after the first job was published: the first job is done (by
    /// the caller alone if need be) rather than lost, and the late workers then join jobs.
    func testLateStartingWorkersLoseNoStart() {
        let pool = vlm_pool_create_tuned(3, 10_000, 2_000)!
        defer { vlm_pool_destroy(pool) }
        runRegions(pool, regions: 1, chunks: 64)
        usleep(30_000)
        XCTAssertGreaterThan(threadsJoining(pool, chunks: 24), 1, "no worker joined after its late start")
        runRegions(pool, regions: 1_000, chunks: 16)
    }

    /// Workers that park at once (no spin) are woken for every job, and do join it.
    func testParkedWorkersAreWoken() {
        let pool = vlm_pool_create_tuned(2, 0, 0)!
        defer { vlm_pool_destroy(pool) }
        for _ in 0..<2_000 { runRegions(pool, regions: 1, chunks: 8) }
        usleep(10_000)
        XCTAssertEqual(threadsJoining(pool, chunks: 16), 2, "the parked worker was not woken")
    }

    /// Two threads calling one pool: one may be refused (busy) and must then run elsewhere; no
    /// chunk is lost or run twice, and neither caller hangs.
    func testConcurrentCallersThroughParallel() {
        let n = 10_000
        let sums = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        sums.initialize(repeating: 0, count: 2)
        defer { sums.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 2) { caller in
            for _ in 0..<2_000 {
                let part = UnsafeMutablePointer<Int>.allocate(capacity: n)
                part.initialize(repeating: 0, count: n)
                Parallel.forRange(n, minChunk: 100) { s, e in for i in s..<e { part[i] += 1 } }
                var total = 0
                for i in 0..<n { total += part[i] }
                part.deallocate()
                sums[caller] += total
            }
        }
        XCTAssertEqual(sums[0], 2_000 * n)
        XCTAssertEqual(sums[1], 2_000 * n)
    }

    /// A region started inside a chunk runs inline and completes.
    func testNestedRegionsRunInline() {
        let outer = 8, inner = 1000
        let cells = UnsafeMutablePointer<Int>.allocate(capacity: outer * inner)
        cells.initialize(repeating: 0, count: outer * inner)
        defer { cells.deallocate() }
        Parallel.forRange(outer) { s, e in
            for o in s..<e { Parallel.forRange(inner, minChunk: 10) { a, b in for i in a..<b { cells[o * inner + i] += 1 } } }
        }
        for i in 0..<outer * inner { XCTAssertEqual(cells[i], 1) }
    }

    func testDestroyWhileIdleAndParked() {
        let pool = vlm_pool_create_tuned(2, 0, 100)!
        runRegions(pool, regions: 10, chunks: 4)
        usleep(20_000) // past the spin: the worker is parked on the futex
        vlm_pool_destroy(pool)
    }
}
