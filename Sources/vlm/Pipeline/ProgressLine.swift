import Foundation
import VLMRuntime

/// The progress display of a long run on stderr when it is a terminal: inputs done, rate and
/// ETA, redrawn in place at most 5 times a second; silent when stderr is not a terminal.
final class ProgressLine {
    let total: Int
    let enabled: Bool
    private let start = ProcessStats.now
    private var lastDraw = 0.0

    init(total: Int, enabled: Bool) { self.total = total; self.enabled = enabled }

    func update(done: Int, current: String) {
        guard enabled else { return }
        let now = ProcessStats.now
        guard now - lastDraw > 0.2 || done == total else { return }
        lastDraw = now
        let rate = Double(done) / max(now - start, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : 0
        Log.progress(String(format: "%d/%d done, %.2f inputs/s, ETA %@ - %@", done, total, rate, Self.clock(eta),
                            (current as NSString).lastPathComponent))
    }

    func finish() { if enabled { Log.progress(nil) } }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
