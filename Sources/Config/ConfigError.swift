/// One problem found in a config file, pinned to the line that caused it so the operator can
/// jump straight there. Line 0 stands for the file as a whole (missing, unreadable, not UTF-8).
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// The compiler-style `file:line: message` form, which editors and terminals turn into links.
    public var description: String {
        line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}

/// Every problem in a file at once: fixing a config one error per restart is miserable,
/// especially on a serial console.
public struct ConfigErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) {
        self.errors = errors
    }

    /// One line per error, in file order.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
