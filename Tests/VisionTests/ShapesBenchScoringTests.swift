import XCTest
@testable import Vision

/// ShapesBench's scorer judges meaning: the right names and nothing contradicting them.
final class ShapesBenchScoringTests: XCTestCase {
    func q(_ task: String, _ answer: String, objects: Int = 1) -> ShapesBenchQuestion {
        ShapesBenchQuestion(file: "f.png", task: task, question: "?", answer: answer, objects: objects, style: "pil")
    }

    func testColourShapeAndCaption() {
        XCTAssertTrue(ShapesBench.isCorrect(q("colour", "red"), reply: "It is red."))
        XCTAssertFalse(ShapesBench.isCorrect(q("colour", "red"), reply: "red and blue"))
        XCTAssertFalse(ShapesBench.isCorrect(q("colour", "red"), reply: "I don't know"))
        XCTAssertTrue(ShapesBench.isCorrect(q("shape", "cross"), reply: "Crosses"))
        XCTAssertTrue(ShapesBench.isCorrect(q("caption", "A large red circle at the top left."), reply: "A red circle."))
        XCTAssertFalse(ShapesBench.isCorrect(q("caption", "A large red circle at the top left."), reply: "A red square."))
        XCTAssertFalse(ShapesBench.isCorrect(q("caption", "A large red circle at the top left."), reply: "A red circle and a blue star."))
        let multi = q("caption", "Two shapes: a red circle and a blue star.", objects: 2)
        XCTAssertTrue(ShapesBench.isCorrect(multi, reply: "Two shapes: a blue star and a red circle."))
        XCTAssertFalse(ShapesBench.isCorrect(multi, reply: "Two shapes: a blue star and a red square."))
    }

    func testCountPositionRelation() {
        XCTAssertTrue(ShapesBench.isCorrect(q("count", "3"), reply: "There are three shapes."))
        XCTAssertTrue(ShapesBench.isCorrect(q("count", "3"), reply: "3"))
        XCTAssertFalse(ShapesBench.isCorrect(q("count", "3"), reply: "4"))
        XCTAssertFalse(ShapesBench.isCorrect(q("count", "3"), reply: "many"))
        XCTAssertTrue(ShapesBench.isCorrect(q("position", "top left"), reply: "In the upper left."))
        XCTAssertFalse(ShapesBench.isCorrect(q("position", "top left"), reply: "top"))
        XCTAssertTrue(ShapesBench.isCorrect(q("position", "centre"), reply: "in the center"))
        XCTAssertFalse(ShapesBench.isCorrect(q("position", "centre"), reply: "center left"))
        XCTAssertTrue(ShapesBench.isCorrect(q("relation", "green star"), reply: "a green star"))
        XCTAssertFalse(ShapesBench.isCorrect(q("relation", "green star"), reply: "a green cross"))
        XCTAssertTrue(ShapesBench.isCorrect(q("direction", "left"), reply: "It moves to the left."))
    }

    func testSubsetAndTable() {
        let qs = (0..<10).flatMap { i in [ShapesBenchQuestion(file: "\(i)", task: "colour", question: "a", answer: "red"),
                                          ShapesBenchQuestion(file: "\(i)", task: "colour", question: "b", answer: "red"),
                                          ShapesBenchQuestion(file: "\(i)", task: "count", question: "c", answer: "1")] }
        let s = ShapesBench.subset(qs, perTask: 1, scenes: 5)
        XCTAssertEqual(s.count, 10)
        XCTAssertEqual(Set(s.map(\.file)), ["0", "2", "4", "6", "8"])
        var t = AccuracyTable()
        t.add("colour", correct: true); t.add("colour", correct: false); t.add("count", correct: true)
        t.add("unseen style (all tasks)", correct: false)
        XCTAssertEqual(t.accuracy("colour"), 0.5)
        XCTAssertEqual(t.meanImageAccuracy, 0.75)
    }
}
