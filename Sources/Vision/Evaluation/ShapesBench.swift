import Foundation
import VLMRuntime

/// One question of ShapesBench (tools/shapesbench.py): a scene file, a task, the question and
/// its ground-truth answer.
public struct ShapesBenchQuestion: Decodable, Sendable {
    public var file: String
    public var task: String
    public var question: String
    public var answer: String
    /// Objects in the scene (images only).
    public var objects: Int?
    /// The renderer that drew the scene: "pil", "sdf", or "foreign" (a style training never saw).
    public var style: String?
    public var video: Bool?

    public init(file: String, task: String, question: String, answer: String, objects: Int? = nil,
                style: String? = nil, video: Bool? = nil) {
        self.file = file; self.task = task; self.question = question; self.answer = answer
        self.objects = objects; self.style = style; self.video = video
    }

    public var isVideo: Bool { video ?? false }

    /// The accuracy rows this question counts in (a question can count in several).
    public var metrics: [String] {
        var m: [String]
        switch task {
        case "caption":
            // Two objects apart from more: issue 20's target is for one and for two objects.
            let n = objects ?? 1
            m = [n == 1 ? "caption (1 object)" : n == 2 ? "caption (2 objects)" : "caption (3-6 objects)"]
        case "count": m = [(objects ?? 1) <= 4 ? "count (1-4)" : "count (5-6)"]
        case "count_time": m = ["video: count over time"]
        case "direction", "order", "disappear", "recolour": m = ["video: " + task]
        default: m = [task]
        }
        if style == "foreign" { m.append("unseen style (all tasks)") }
        return m
    }
}

/// Loading and scoring of ShapesBench. Answers are scored by meaning, not by string equality:
/// a reply is right when it names what the ground truth names and nothing that contradicts it
/// ("It is red." for "red"; "a blue star" is wrong for a red star).
public enum ShapesBench {
    public static let colours = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "black"]
    public static let shapes = ["circle", "square", "triangle", "star", "cross"]
    static let numberWords = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]

    /// Reads DIR/questions.jsonl.
    public static func load(directory: String) throws -> [ShapesBenchQuestion] {
        let path = directory + "/questions.jsonl"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VLMError.badInput("\(path): not found (the held-out split is Samples/shapesbench; --data DIR)")
        }
        var out: [ShapesBenchQuestion] = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() where !line.isEmpty {
            do { out.append(try JSONDecoder().decode(ShapesBenchQuestion.self, from: Data(line.utf8))) }
            catch { throw VLMError.badInput("\(path):\(n + 1): not a ShapesBench question") }
        }
        return out
    }

    /// Lower-case words, with British/American spellings and plurals folded together.
    static func words(_ s: String) -> [String] {
        let cleaned = s.lowercased().map { $0.isLetter || $0.isNumber ? $0 : " " }
        return String(cleaned).split(separator: " ").map { w in
            var w = String(w)
            switch w {
            case "center", "middle", "central": w = "centre"
            case "color": w = "colour"
            case "upper": w = "top"
            case "lower": w = "bottom"
            case "crosses": w = "cross"
            case "violet": w = "purple"
            default:
                if w.count > 3, w.hasSuffix("s"), shapes.contains(String(w.dropLast())) { w = String(w.dropLast()) }
            }
            return w
        }
    }

    static func number(in ws: [String]) -> Int? {
        for w in ws {
            if let n = Int(w) { return n }
            if let n = numberWords.firstIndex(of: w) { return n }
        }
        return nil
    }

    /// The region named by a reply: (vertical, horizontal), each nil when not said; "centre"
    /// alone is (nil, nil) with `centre` true.
    static func region(in ws: [String]) -> (vertical: String?, horizontal: String?, centre: Bool) {
        let v = ws.first { $0 == "top" || $0 == "bottom" }
        let h = ws.first { $0 == "left" || $0 == "right" }
        return (v, h, ws.contains("centre"))
    }

    /// Whether `reply` answers `question` correctly.
    public static func isCorrect(_ q: ShapesBenchQuestion, reply: String) -> Bool {
        let got = words(reply), want = words(q.answer)
        func namesOnly(_ vocabulary: [String], expected: [String]) -> Bool {
            let said = Set(got.filter(vocabulary.contains))
            return !expected.isEmpty && said == Set(expected)
        }
        switch q.task {
        case "count", "count_time":
            return number(in: got) == number(in: want)
        case "colour", "recolour":
            return namesOnly(colours, expected: want.filter(colours.contains))
        case "shape":
            return namesOnly(shapes, expected: want.filter(shapes.contains))
        case "position":
            let a = region(in: got), b = region(in: want)
            return a.vertical == b.vertical && a.horizontal == b.horizontal && (a.vertical != nil || a.horizontal != nil || a.centre)
        case "direction":
            let dirs = ["left", "right", "up", "down"]
            return namesOnly(dirs, expected: want.filter(dirs.contains))
        case "caption" where (q.objects ?? 1) > 1:
            // Every object named with its colour and shape, and the count right when said.
            let pairs = zip(want, want.dropFirst()).filter { colours.contains($0.0) && shapes.contains($0.1) }
            let saidPairs = Set(zip(got, got.dropFirst()).filter { colours.contains($0.0) && shapes.contains($0.1) }.map { "\($0.0) \($0.1)" })
            return Set(pairs.map { "\($0.0) \($0.1)" }) == saidPairs
        default:
            // caption (one object), relation, order, disappear: one coloured shape named.
            return namesOnly(colours, expected: want.filter(colours.contains)) && namesOnly(shapes, expected: want.filter(shapes.contains))
        }
    }

    /// Picks at most `perTask` questions of each task for each scene (in file order), so that a
    /// short run still covers every task evenly.
    public static func subset(_ qs: [ShapesBenchQuestion], perTask: Int?, scenes: Int?) -> [ShapesBenchQuestion] {
        var files: [String] = [], seen = Set<String>()
        for q in qs where seen.insert(q.file).inserted { files.append(q.file) }
        // Scenes are taken evenly across the list so that the object-count and style mixes hold.
        var keptFiles = Set(files)
        if let scenes, scenes < files.count {
            let step = Double(files.count) / Double(scenes)
            keptFiles = Set((0..<scenes).map { files[Int(Double($0) * step)] })
        }
        var perScene: [String: Int] = [:]
        return qs.filter { q in
            guard keptFiles.contains(q.file) else { return false }
            guard let perTask else { return true }
            let key = q.file + "\u{0}" + q.task
            perScene[key, default: 0] += 1
            return perScene[key]! <= perTask
        }
    }
}

/// Correct/total per metric, in a stable order.
public struct AccuracyTable: Sendable {
    public private(set) var rows: [(metric: String, correct: Int, total: Int)] = []

    public init() {}

    public mutating func add(_ metric: String, correct: Bool) {
        if let i = rows.firstIndex(where: { $0.metric == metric }) {
            rows[i].total += 1; rows[i].correct += correct ? 1 : 0
        } else {
            rows.append((metric, correct ? 1 : 0, 1))
        }
    }

    public func accuracy(_ metric: String) -> Double? {
        rows.first { $0.metric == metric }.map { Double($0.correct) / Double(max($0.total, 1)) }
    }

    /// Mean accuracy over the image tasks (every row but the unseen-style and video rows).
    public var meanImageAccuracy: Double { mean(rows.filter { !$0.metric.hasPrefix("video") && !$0.metric.hasPrefix("unseen") }) }

    /// Mean accuracy over the video tasks; nil when there are none.
    public var meanVideoAccuracy: Double? {
        let video = rows.filter { $0.metric.hasPrefix("video") }
        return video.isEmpty ? nil : mean(video)
    }

    private func mean(_ selected: [(metric: String, correct: Int, total: Int)]) -> Double {
        guard !selected.isEmpty else { return 0 }
        return selected.reduce(0) { $0 + Double($1.correct) / Double(max($1.total, 1)) } / Double(selected.count)
    }
}
