import Config

/// Validation through the Config module only: a config is checked by rendering it with
/// `ConfigWriter` and parsing the text with `ConfigParser`, exactly as the saved file will
/// be read at the next start. The menu keeps no rules of its own about ranges, RAID
/// levels, LUN users or secrets, so it cannot drift from the parser.
enum ConfigCheck {
    /// Every error the file for `config` would have, with line numbers in that text.
    static func errors(in config: TargeConfig, fileName: String) -> [ConfigError] {
        do {
            _ = try ConfigParser.parse(ConfigWriter.render(config), fileName: fileName)
            return []
        } catch {
            return error.errors
        }
    }

    /// The problems an edit brings in: errors of `after` that `before` did not have. An edit
    /// is judged by what it breaks, so a half-built record (a target with no LUN yet) can be
    /// completed field by field, and an unrelated old error does not block every edit.
    static func introduced(before: TargeConfig, after: TargeConfig) -> [String] {
        var remaining: [String: Int] = [:]
        for error in errors(in: before, fileName: "") {
            remaining[withoutLineNumbers(error.message), default: 0] += 1
        }
        var problems: [String] = []
        for error in errors(in: after, fileName: "") {
            let key = withoutLineNumbers(error.message)
            if let count = remaining[key], count > 0 {
                remaining[key] = count - 1
            } else {
                problems.append(withoutLineReferences(error.message))
            }
        }
        return problems
    }

    /// Drops "(line 59)" and "(first at line 12)" from a message: they point into a file
    /// the user has not seen (the config as it would be written), so they only confuse.
    static func withoutLineReferences(_ message: String) -> String {
        var result = ""
        var rest = Substring(message)
        while let open = rest.firstIndex(of: "("), let close = rest[open...].firstIndex(of: ")") {
            let inner = rest[rest.index(after: open)..<close]
            let number = inner.drop { !$0.isNumber }
            let isReference = (inner.hasPrefix("line ") || inner.hasPrefix("first at line "))
                && !number.isEmpty && number.allSatisfy(\.isNumber)
            if isReference {
                result += rest[..<open].trimmingTrailingSpaces()
            } else {
                result += rest[...close]
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    /// Messages mention other lines ("first at line 12"); an edit elsewhere shifts them, and
    /// the same problem must still count as the same.
    static func withoutLineNumbers(_ message: String) -> String {
        var result = ""
        var rest = Substring(message)
        while let range = rest.firstRange(of: "line ") {
            result += rest[..<range.upperBound]
            rest = rest[range.upperBound...].drop { $0.isNumber }
        }
        return result + rest
    }
}
