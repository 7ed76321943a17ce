@testable import Appliance
import XCTest

/// The pure text shaping behind the 79-column rule.
final class MenuLayoutTests: XCTestCase {
    func testShortLinesAreKept() {
        XCTAssertEqual(TextLayout.wrap("hello"), ["hello"])
        XCTAssertEqual(TextLayout.wrap("a\nb"), ["a", "b"])
        XCTAssertEqual(TextLayout.wrap(""), [""])
    }

    func testLongLinesBreakAtSpacesWithAnIndent() {
        let text = "  " + Array(repeating: "word", count: 40).joined(separator: " ")
        let lines = TextLayout.wrap(text)
        XCTAssertGreaterThan(lines.count, 1)
        XCTAssertTrue(lines.allSatisfy { $0.count <= 79 })
        XCTAssertTrue(lines.dropFirst().allSatisfy { $0.hasPrefix("    word") })
        XCTAssertEqual(lines.joined(separator: " ").split(separator: " "), text.split(separator: " "))
    }

    func testUnbreakableWordsAreCut() {
        let lines = TextLayout.wrap(String(repeating: "x", count: 200))
        XCTAssertTrue(lines.allSatisfy { $0.count <= 79 })
        XCTAssertEqual(lines.map { $0.filter { $0 == "x" }.count }.reduce(0, +), 200)
    }

    func testTabsAreExpanded() {
        XCTAssertEqual(TextLayout.wrap("a\tb"), ["a       b"])
    }

    func testLineReferencesAreDroppedFromShownProblems() {
        XCTAssertEqual(ConfigCheck.withoutLineReferences("'d' is used by both combination 'm' (line 59) and target 't'"),
                       "'d' is used by both combination 'm' and target 't'")
        XCTAssertEqual(ConfigCheck.withoutLineReferences("key twice (first at line 3)"), "key twice")
        XCTAssertEqual(ConfigCheck.withoutLineReferences("bad (expected a or b)"), "bad (expected a or b)")
    }

    func testIntroducedProblemsIgnoreShiftedLineNumbers() {
        XCTAssertEqual(ConfigCheck.withoutLineNumbers("duplicate key 'x' (first at line 12)"),
                       "duplicate key 'x' (first at line )")
    }
}
