import Foundation

/// A dependency-free SVG line plot of accuracy against visual tokens kept, one line per
/// reducer (the `none` point is drawn as a reference on every line's right end).
enum AccuracyPlot {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

    static func svg(_ points: [(reducer: String, tokens: Double, accuracy: Double)], title: String) -> String {
        let width = 720.0, height = 440.0, left = 60.0, right = 170.0, top = 40.0, bottom = 50.0
        let maxTokens = max(points.map(\.tokens).max() ?? 1, 1)
        func x(_ t: Double) -> Double { left + (width - left - right) * t / maxTokens }
        func y(_ a: Double) -> Double { top + (height - top - bottom) * (1 - a) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(left)\" y=\"22\" font-size=\"14\">\(escape(title))</text>\n"
        for i in 0...5 {   // gridlines every 20 %
            let a = Double(i) / 5
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y(a), width - right, y(a))
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n", left - 6, y(a) + 4, i * 20)
        }
        let ticks = 5
        for i in 0...ticks {
            let t = maxTokens * Double(i) / Double(ticks)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", x(t), height - bottom + 18, t)
        }
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">visual tokens kept per image</text>\n",
                    (left + width - right) / 2, height - 12)
        s += String(format: "<text x=\"14\" y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" text-anchor=\"middle\">mean accuracy (image tasks)</text>\n",
                    (top + height - bottom) / 2, (top + height - bottom) / 2)
        let full = points.first { $0.reducer == "none" }
        var reducers: [String] = []
        for p in points where p.reducer != "none" && !reducers.contains(p.reducer) { reducers.append(p.reducer) }
        for (i, name) in reducers.enumerated() {
            let colour = palette[i % palette.count]
            var line = points.filter { $0.reducer == name }.sorted { $0.tokens < $1.tokens }
            if let full { line.append(full) }
            let path = line.map { String(format: "%.1f,%.1f", x($0.tokens), y($0.accuracy)) }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            for p in line { s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", x(p.tokens), y(p.accuracy), colour) }
            let ly = top + 18 * Double(i)
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"2\"/>\n",
                        width - right + 16, ly, width - right + 36, ly, colour)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>\n", width - right + 42, ly + 4, escape(name))
        }
        if let full {
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">none: %.1f%%</text>\n", x(full.tokens) - 6, y(full.accuracy) - 8, full.accuracy * 100)
        }
        return s + "</svg>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
