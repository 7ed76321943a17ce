/// One `key value...` line, split on whitespace with the comment removed.
struct ConfigEntry {
    /// Lowercased, for matching; keys are case-insensitive.
    let key: String
    /// As written, for messages.
    let rawKey: String
    let values: [String]
    let line: Int
}

/// A section header and the entries under it, before any meaning is given to them.
struct ConfigSection {
    /// Lowercased kind: "server", "device", ...
    let kind: String
    /// The NAME of `[device NAME]` and friends; nil for the singleton sections.
    let name: String?
    let line: Int
    var entries: [ConfigEntry] = []

    /// "[server]" or "[device disk1]", the way errors name the section.
    var title: String {
        if let name { "[\(kind) \(name)]" } else { "[\(kind)]" }
    }

    /// Sections that appear at most once and take no name.
    static let singletons: Set<String> = ["appliance", "server", "connection", "timeouts", "auth", "clients"]
    /// Sections that take a NAME and may repeat.
    static let named: Set<String> = ["device", "combination", "target"]
}
