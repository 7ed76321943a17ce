/// The shared chores of reading one section's entries: duplicate single-valued keys,
/// missing values, numbers, booleans, sizes, each reported with the entry's line. Readers
/// get nil back on any problem and simply skip the key, so one bad value gives one error.
struct SectionReader {
    let section: ConfigSection
    var diagnostics: Diagnostics
    /// Key -> first line, for duplicates and for the settings' `lines` tables.
    private(set) var lines: [String: Int] = [:]

    init(_ section: ConfigSection, file: String) {
        self.section = section
        self.diagnostics = Diagnostics(file: file)
    }

    mutating func error(_ line: Int, _ message: String) {
        diagnostics.error(line, message)
    }

    mutating func unknownKey(_ entry: ConfigEntry) {
        error(entry.line, "unknown key '\(entry.rawKey)' in \(section.title)")
    }

    /// Records a single-valued key; a second occurrence is an error because silently taking
    /// either one would hide a mistake.
    mutating func claim(_ entry: ConfigEntry, as key: String? = nil) -> Bool {
        let key = key ?? entry.key
        if let first = lines[key] {
            error(entry.line, "duplicate key '\(entry.rawKey)' in \(section.title) (first at line \(first))")
            return false
        }
        lines[key] = entry.line
        return true
    }

    /// Values of a repeatable key (at least one).
    mutating func values(_ entry: ConfigEntry, as key: String? = nil) -> [String]? {
        if lines[key ?? entry.key] == nil { lines[key ?? entry.key] = entry.line }
        guard !entry.values.isEmpty else {
            error(entry.line, "missing value for '\(entry.rawKey)' in \(section.title)")
            return nil
        }
        return entry.values
    }

    /// Values of a repeatable key that takes exactly `count` of them (`lun 0 disk`).
    mutating func values(_ entry: ConfigEntry, count: Int, usage: String) -> [String]? {
        guard let values = values(entry) else { return nil }
        guard values.count == count else {
            error(entry.line, "'\(entry.rawKey)' takes \(usage), got \(values.count) value\(values.count == 1 ? "" : "s")")
            return nil
        }
        return values
    }

    /// The value of a single-valued key.
    mutating func single(_ entry: ConfigEntry, as key: String? = nil) -> String? {
        guard claim(entry, as: key) else { return nil }
        guard let first = entry.values.first else {
            error(entry.line, "missing value for '\(entry.rawKey)' in \(section.title)")
            return nil
        }
        guard entry.values.count == 1 else {
            error(entry.line, "'\(entry.rawKey)' takes one value, got \(entry.values.count)")
            return nil
        }
        return first
    }

    mutating func int(_ entry: ConfigEntry, in range: ClosedRange<Int>, as key: String? = nil) -> Int? {
        guard let text = single(entry, as: key) else { return nil }
        return number(text, entry: entry, in: range)
    }

    /// A decimal integer (optional '-', so "-1" gets the clearer range message).
    mutating func number(_ text: String, entry: ConfigEntry, in range: ClosedRange<Int>) -> Int? {
        guard !text.hasPrefix("+"), let value = Int(text) else {
            error(entry.line, "bad number '\(text)' for '\(entry.rawKey)'")
            return nil
        }
        guard range.contains(value) else {
            let bounds = range.upperBound == Int.max
                ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
            error(entry.line, "'\(entry.rawKey)' must be \(bounds), got \(value)")
            return nil
        }
        return value
    }

    /// Yes/No as the RFC spells them, plus true/false and on/off; case-insensitive.
    mutating func bool(_ entry: ConfigEntry, as key: String? = nil) -> Bool? {
        guard let text = single(entry, as: key) else { return nil }
        switch text.lowercased() {
        case "yes", "true", "on": return true
        case "no", "false", "off": return false
        default:
            error(entry.line, "bad value '\(text)' for '\(entry.rawKey)' (expected yes or no)")
            return nil
        }
    }

    mutating func size(_ entry: ConfigEntry) -> UInt64? {
        guard let text = single(entry) else { return nil }
        guard let bytes = parseSize(text) else {
            error(entry.line, "bad size '\(text)' for '\(entry.rawKey)' (a number with B, KiB, MiB, GiB or TiB)")
            return nil
        }
        return bytes
    }

    /// `incoming NAME SECRET` / `outgoing NAME SECRET`.
    mutating func chapUser(_ entry: ConfigEntry) -> CHAPUser? {
        guard let values = values(entry, count: 2, usage: "a name and a secret") else { return nil }
        return CHAPUser(name: values[0], secret: values[1], line: entry.line)
    }

    /// Incoming CHAP users, refusing a name listed twice: which secret holds would be a guess.
    /// After the name and secret may come the initiator names the user may log in as.
    mutating func addIncoming(_ entry: ConfigEntry, to users: inout [CHAPUser]) {
        guard let values = values(entry) else { return }
        guard values.count >= 2 else {
            error(entry.line, "'\(entry.rawKey)' takes a name and a secret, then optionally the initiator names it may use")
            return
        }
        var initiators: [String] = []
        for name in values.dropFirst(2) {
            guard let normalized = ISCSIName.normalize(name) else {
                error(entry.line, "'\(name)' is not an iSCSI name (iqn.…, eui.… or naa.…)")
                return
            }
            initiators.append(normalized)
        }
        let user = CHAPUser(name: values[0], secret: values[1], initiators: initiators, line: entry.line)
        if let earlier = users.first(where: { $0.name == user.name }) {
            error(entry.line, "CHAP user '\(user.name)' listed twice in \(section.title) (first at line \(earlier.line))")
            return
        }
        users.append(user)
    }
}
