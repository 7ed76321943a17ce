/// Turns text into sections of entries: the syntax layer. Everything it rejects is a
/// syntax error; what keys mean is left to the section readers.
enum ConfigLexer {
    static func sections(in text: String, diagnostics: inout Diagnostics) -> [ConfigSection] {
        var sections: [ConfigSection] = []
        var singletonLines: [String: Int] = [:]
        // Entries after a broken or duplicate header are dropped: reporting each of them as
        // "outside any section" would bury the one real error.
        var discarding = false
        var lineNumber = 0
        // Editors on other systems may start the file with a byte order mark; it is not a key.
        let body = text.hasPrefix("\u{FEFF}") ? text.dropFirst() : Substring(text)
        // "\r\n" is one Character in Swift, so it has to be named as a separator of its own.
        for rawLine in body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let content = rawLine.prefix { $0 != "#" }  // '#' starts a comment anywhere
            let tokens = content.split { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" }
            guard let first = tokens.first else { continue }
            if first.hasPrefix("[") {
                discarding = true
                guard let header = parseHeader(tokens, line: lineNumber, diagnostics: &diagnostics) else { continue }
                if header.name == nil {
                    if let firstLine = singletonLines[header.kind] {
                        diagnostics.error(lineNumber, "duplicate section \(header.title) (first at line \(firstLine))")
                        continue
                    }
                    singletonLines[header.kind] = lineNumber
                }
                sections.append(header)
                discarding = false
                continue
            }
            if discarding { continue }
            guard !sections.isEmpty else {
                diagnostics.error(lineNumber, "key '\(first)' outside of any section")
                continue
            }
            sections[sections.count - 1].entries.append(ConfigEntry(
                key: first.lowercased(), rawKey: String(first),
                values: tokens.dropFirst().map(String.init), line: lineNumber))
        }
        return sections
    }

    /// `[kind]` or `[kind NAME]`, whitespace allowed inside the brackets.
    private static func parseHeader(_ tokens: [Substring], line: Int, diagnostics: inout Diagnostics) -> ConfigSection? {
        let joined = tokens.joined(separator: " ")
        guard joined.hasSuffix("]") else {
            diagnostics.error(line, "malformed section header '\(joined)' (missing ']')")
            return nil
        }
        let inner = joined.dropFirst().dropLast()
        let words = inner.split(separator: " ")
        guard let kindWord = words.first, !inner.contains("["), !inner.contains("]") else {
            diagnostics.error(line, "malformed section header '\(joined)'")
            return nil
        }
        let kind = kindWord.lowercased()
        if ConfigSection.singletons.contains(kind) {
            guard words.count == 1 else {
                diagnostics.error(line, "section [\(kind)] takes no name")
                return nil
            }
            return ConfigSection(kind: kind, name: nil, line: line)
        }
        if ConfigSection.named.contains(kind) {
            guard words.count == 2 else {
                diagnostics.error(line, words.count == 1 ? "section [\(kind)] needs a name" : "section [\(kind)] takes one name")
                return nil
            }
            let name = String(words[1])
            guard isValidName(name) else {
                diagnostics.error(line, "bad \(kind) name '\(name)' (letters, digits, '.', '_' and '-' only)")
                return nil
            }
            return ConfigSection(kind: kind, name: name, line: line)
        }
        diagnostics.error(line, "unknown section [\(kindWord)]")
        return nil
    }

    /// Section names: `[A-Za-z0-9._-]+`, safe in IQNs, paths and log lines alike.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }
}
