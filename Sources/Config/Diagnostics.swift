/// Collects errors while the parser keeps going, so one run reports everything wrong.
struct Diagnostics {
    let file: String
    private(set) var errors: [ConfigError] = []

    init(file: String) {
        self.file = file
    }

    mutating func error(_ line: Int, _ message: String) {
        errors.append(ConfigError(file: file, line: line, message: message))
    }

    mutating func append(_ other: Diagnostics) {
        errors += other.errors
    }

    /// Errors in line order; ties keep the order they were found in (Swift's sort is not
    /// documented as stable, hence the explicit index).
    var sorted: [ConfigError] {
        errors.enumerated()
            .sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
            .map(\.element)
    }
}
