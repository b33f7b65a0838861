import XCTest
import VLMRuntime
@testable import Vision

/// The Qwen-VL numbering rules on their own, each against the numbers transformers 5.23's code
/// gives (worked out from it in the comments): smart_resize, the window order, multimodal RoPE's
/// axis tables and the prompt's 3-D positions.
final class QwenVLLayoutTests: XCTestCase {
    func testSmartResize() throws {
        // ../shared/MODEL-FAMILIES.md §1.2's example: 640x480 (W x H).
        XCTAssertEqual(try QwenVLProcessor.smartResize(height: 480, width: 640, factor: 28, minPixels: 3136, maxPixels: 12845056).0, 476)
        XCTAssertEqual(try QwenVLProcessor.smartResize(height: 480, width: 640, factor: 28, minPixels: 3136, maxPixels: 12845056).1, 644)
        XCTAssertTrue(try QwenVLProcessor.smartResize(height: 480, width: 640, factor: 32, minPixels: 65536, maxPixels: 16777216) == (480, 640))
        // Python's round is half to even: 42/28 = 1.5 -> 2, 70/28 = 2.5 -> 2.
        XCTAssertTrue(try QwenVLProcessor.smartResize(height: 42, width: 70, factor: 28, minPixels: 1, maxPixels: 1 << 30) == (56, 56))
        // Over the budget: floor(h / beta / f) * f with beta = sqrt(h * w / max).
        XCTAssertTrue(try QwenVLProcessor.smartResize(height: 1000, width: 1000, factor: 28, minPixels: 1, maxPixels: 280 * 280) == (280, 280))
        // Under it: ceil.
        XCTAssertTrue(try QwenVLProcessor.smartResize(height: 10, width: 20, factor: 28, minPixels: 56 * 56, maxPixels: 1 << 30) == (56, 84))
        XCTAssertThrowsError(try QwenVLProcessor.smartResize(height: 1, width: 201, factor: 28, minPixels: 1, maxPixels: 1 << 30))
    }

    func testWindowOrderCoversEveryPatchOnce() {
        // ../shared/MODEL-FAMILIES.md §1.3: a 17x23 merged grid pads to 20x24 -> 5 x 6 = 30 windows.
        let order = QwenPatchOrder(gridRows: 34, gridCols: 46, merge: 2, windowCells: 4)
        XCTAssertEqual(order.windows.count, 30)
        XCTAssertEqual(Set(order.order).count, 34 * 46)
        XCTAssertEqual(order.windows.map(\.count).reduce(0, +), 34 * 46)
        // The first window is merged cells (0..3, 0..3), each cell's 4 patches in (row, col) order.
        XCTAssertEqual(Array(order.order.prefix(4)), [0, 1, 46, 47])
        XCTAssertEqual(order.windows[0].count, 16 * 4)
        // A grid that is already a multiple of the window still gets a whole padding window.
        XCTAssertEqual(QwenPatchOrder(gridRows: 16, gridCols: 8, merge: 2, windowCells: 4).windows.count, 2)
        XCTAssertEqual(QwenPatchOrder(gridRows: 16, gridCols: 8, merge: 2, windowCells: nil).windows, [0..<128])
    }

    func testMultimodalRoPEAxes() {
        // Qwen2.5-VL: split [16, 24, 24] of 64 frequencies, chunk i -> row i % 3.
        let contiguous = MultimodalRoPE.contiguousAxes(sections: [16, 24, 24])
        XCTAssertEqual(contiguous.count, 64)
        XCTAssertEqual(contiguous[15], 0); XCTAssertEqual(contiguous[16], 1); XCTAssertEqual(contiguous[39], 1); XCTAssertEqual(contiguous[40], 2)
        // Qwen3-VL: [24, 20, 20]: H at 1, 4, ..., 58; W at 2, 5, ..., 59; T elsewhere (0, 3, ..., 57 and 60..63).
        let interleaved = MultimodalRoPE.interleavedAxes(sections: [24, 20, 20], frequencies: 64)
        XCTAssertEqual(interleaved.filter { $0 == 1 }.count, 20)
        XCTAssertEqual(interleaved.filter { $0 == 2 }.count, 20)
        XCTAssertEqual(Array(interleaved[57...]), [0, 1, 2, 0, 0, 0, 0])
        XCTAssertEqual(Array(interleaved.prefix(4)), [0, 1, 2, 0])
    }

    func testPromptPositions() throws {
        // 3 text tokens, a 2x3 merged image (6 tokens), 2 text tokens: the image starts at 3,
        // rows 3..4, columns 3..5; text goes on at 3 + max(2, 3) = 6; next = 8.
        let image = ImageEmbedding(rows: [], count: 6, tileCounts: [6], layout: .single, visualBefore: 6,
                                   positionRuns: [Qwen2_5_VLFamily.run(Array(0..<6), gridCols: 3, advance: 3)])
        let ids: [Int32] = [1, 2, 3, 9, 9, 9, 9, 9, 9, 4, 5]
        let p = try PromptPositions.build(ids: ids, imageToken: 9, videoToken: 8, media: [image])
        XCTAssertEqual(p.temporal, [0, 1, 2, 3, 3, 3, 3, 3, 3, 6, 7])
        XCTAssertEqual(p.height, [0, 1, 2, 3, 3, 3, 4, 4, 4, 6, 7])
        XCTAssertEqual(p.width, [0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7])
        XCTAssertEqual(p.next, 8)
        XCTAssertEqual(p.delta, 8 - 11)
        // A run whose length differs from its image is refused, not misnumbered.
        XCTAssertThrowsError(try PromptPositions.build(ids: Array(ids.dropLast(3)) + [4], imageToken: 9, videoToken: 8, media: [image]))
    }
}
