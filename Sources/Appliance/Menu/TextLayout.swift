/// Pure text shaping for an 80x24 serial terminal: nothing here knows about I/O.
enum TextLayout {
    /// One column short of 80, because many terminals wrap (or scroll) when a character lands
    /// in the last column.
    static let width = 79

    /// Splits `text` into lines of at most `width` characters, breaking at spaces where it
    /// can. Continuation lines keep the first line's indentation plus two spaces, so a
    /// wrapped message still reads as one item.
    static func wrap(_ text: String, width: Int = TextLayout.width) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).flatMap { wrapLine(String($0), width: width) }
    }

    private static func wrapLine(_ line: String, width: Int) -> [String] {
        var rest = Substring(expandTabs(line))
        guard rest.count > width else { return [String(rest)] }
        let indent = String(repeating: " ", count: min(rest.prefix { $0 == " " }.count + 2, width / 2))
        var lines: [String] = []
        var prefix = ""
        while prefix.count + rest.count > width {
            let room = width - prefix.count
            let window = rest.prefix(room + 1)
            // Break at the last space that leaves something on this line; else cut hard.
            let cut = window.lastIndex(of: " ").flatMap { $0 > rest.startIndex ? $0 : nil }
                ?? rest.index(rest.startIndex, offsetBy: room)
            lines.append(prefix + rest[..<cut].trimmingTrailingSpaces())
            rest = rest[cut...].drop { $0 == " " }
            prefix = indent
        }
        if !rest.isEmpty { lines.append(prefix + rest) }
        return lines
    }

    /// Tabs would make the width depend on the terminal's tab stops.
    private static func expandTabs(_ line: String) -> String {
        guard line.contains("\t") else { return line }
        var result = ""
        for char in line {
            if char == "\t" {
                result += String(repeating: " ", count: 8 - result.count % 8)
            } else {
                result.append(char)
            }
        }
        return result
    }

    /// "  name      value" rows with the values lined up, the way the config file does it.
    static func table(_ rows: [(String, String)], indent: Int = 2, gap: Int = 2) -> [String] {
        let keyWidth = rows.map(\.0.count).max() ?? 0
        return rows.map { key, value in
            String(repeating: " ", count: indent) + key + String(repeating: " ", count: keyWidth - key.count + gap) + value
        }
    }

    /// Right-aligns a menu key in a 3-column field (" 1", "12") so labels line up.
    static func optionLine(_ key: String, _ label: String) -> String {
        String(repeating: " ", count: max(0, 3 - key.count)) + key + "  " + label
    }
}

extension Substring {
    func trimmingTrailingSpaces() -> Substring {
        var end = endIndex
        while end > startIndex, self[index(before: end)] == " " { end = index(before: end) }
        return self[..<end]
    }
}
