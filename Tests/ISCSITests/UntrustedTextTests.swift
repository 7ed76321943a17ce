import ISCSINames
import XCTest

/// What a peer's text looks like in a log line, `targe status` or on the console.
final class UntrustedTextTests: XCTestCase {
    func testEscapes() {
        let cases: [(String, String)] = [
            ("iqn.2026-01.org.x:host1", "iqn.2026-01.org.x:host1"),
            ("a\nerror targe: forged", "a\\nerror targe: forged"),
            ("\u{1b}[2J\u{1b}[H", "\\x1b[2J\\x1b[H"),
            ("tab\there\r", "tab\\there\\r"),
            ("back\\slash", "back\\\\slash"),
            ("nul\u{0}del\u{7f}c1\u{85}", "nul\\x00del\\x7fc1\\x85"),
            ("rtl\u{202e}override", "rtl\\u{202e}override"),
            ("é", "\\xe9"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(UntrustedText.escaped(input), expected, "\(input.debugDescription)")
        }
    }

    func testLengthIsBounded() {
        let long = String(repeating: "x", count: 1000)
        XCTAssertEqual(UntrustedText.escaped(long, limit: 10), String(repeating: "x", count: 10) + "…")
        XCTAssertEqual(UntrustedText.escaped(String(repeating: "\n", count: 100), limit: 7), "\\n\\n\\n…",
                       "an escape is never cut in half")
        XCTAssertEqual(UntrustedText.escaped("short", limit: 5), "short")
    }
}
