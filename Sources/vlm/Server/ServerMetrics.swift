import Foundation

/// Counters and latency histograms for `GET /metrics`, in Prometheus' text format.
final class ServerMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [String: Int] = [:]          // by status code
    private var visualBefore = 0, visualAfter = 0, kvBytes = 0, generated = 0
    /// Upper bounds in milliseconds.
    static let buckets: [Double] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000]
    private var histograms: [String: (counts: [Int], sum: Double, count: Int)] = [:]

    func record(status: Int) {
        lock.lock(); defer { lock.unlock() }
        requests[String(status), default: 0] += 1
    }

    func record(_ r: ResultRecord) {
        lock.lock(); defer { lock.unlock() }
        visualBefore += r.tokens.visual_before; visualAfter += r.tokens.visual_after
        kvBytes += r.memory.kv_cache_bytes; generated += r.tokens.generated
        let t = r.timings_ms
        for (stage, ms) in [("decode_media", t.decode_media), ("encode", t.encode), ("reduce", t.reduce), ("prefill", t.prefill),
                            ("generate", t.generate), ("total", t.total)] {
            var h = histograms[stage] ?? (Array(repeating: 0, count: Self.buckets.count), 0, 0)
            for (i, b) in Self.buckets.enumerated() where ms <= b { h.counts[i] += 1 }
            h.sum += ms; h.count += 1
            histograms[stage] = h
        }
    }

    func text() -> String {
        lock.lock(); defer { lock.unlock() }
        var out = "# HELP vlm_requests_total HTTP requests by status code.\n# TYPE vlm_requests_total counter\n"
        for (code, n) in requests.sorted(by: { $0.key < $1.key }) { out += "vlm_requests_total{code=\"\(code)\"} \(n)\n" }
        let errors = requests.filter { $0.key.first != "2" }.values.reduce(0, +)
        out += "# HELP vlm_request_errors_total Requests answered with an error status.\n# TYPE vlm_request_errors_total counter\n"
        out += "vlm_request_errors_total \(errors)\n"
        out += "# HELP vlm_visual_tokens_total Visual tokens before and after reduction.\n# TYPE vlm_visual_tokens_total counter\n"
        out += "vlm_visual_tokens_total{stage=\"before\"} \(visualBefore)\nvlm_visual_tokens_total{stage=\"after\"} \(visualAfter)\n"
        out += "# HELP vlm_generated_tokens_total Generated tokens.\n# TYPE vlm_generated_tokens_total counter\nvlm_generated_tokens_total \(generated)\n"
        out += "# HELP vlm_kv_cache_bytes_total KV cache bytes held at the end of each request, summed.\n# TYPE vlm_kv_cache_bytes_total counter\n"
        out += "vlm_kv_cache_bytes_total \(kvBytes)\n"
        out += "# HELP vlm_stage_latency_ms Latency of each pipeline stage per request.\n# TYPE vlm_stage_latency_ms histogram\n"
        for (stage, h) in histograms.sorted(by: { $0.key < $1.key }) {
            for (i, b) in Self.buckets.enumerated() { out += "vlm_stage_latency_ms_bucket{stage=\"\(stage)\",le=\"\(Int(b))\"} \(h.counts[i])\n" }
            out += "vlm_stage_latency_ms_bucket{stage=\"\(stage)\",le=\"+Inf\"} \(h.count)\n"
            out += "vlm_stage_latency_ms_sum{stage=\"\(stage)\"} \(h.sum)\nvlm_stage_latency_ms_count{stage=\"\(stage)\"} \(h.count)\n"
        }
        return out
    }
}
