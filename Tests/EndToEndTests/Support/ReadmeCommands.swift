// The commands the README's first screen tells a newcomer to type, read from README.md itself
// so that the tests run them exactly as written.
import Foundation

struct ReadmeCommand: CustomStringConvertible {
    /// The words of the command line, as typed.
    var words: [String]
    /// "make run", "make serve", or nil when the line is for both.
    var variant: String?

    var description: String { words.joined(separator: " ") }

    /// Lines of the first code block after "Try it from another terminal" that start with
    /// `iscsi-`; a trailing `# make run` / `# make serve` comment says which one they are for.
    static func firstScreen(readme: URL = Paths.packageRoot.appendingPathComponent("README.md")) throws -> [ReadmeCommand] {
        let text = try String(contentsOf: readme, encoding: .utf8)
        guard let anchor = text.range(of: "Try it from another terminal") else {
            throw E2EError("README.md has no \"Try it from another terminal\" paragraph")
        }
        let lines = text[anchor.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
        guard let open = lines.firstIndex(where: { $0.hasPrefix("```") }) else { throw E2EError("no code block after the anchor") }
        var commands: [ReadmeCommand] = []
        for line in lines[(open + 1)...] {
            if line.hasPrefix("```") { break }
            var command = Substring(line)
            var variant: String?
            if let hash = line.firstIndex(of: "#") {
                variant = line[line.index(after: hash)...].trimmingCharacters(in: .whitespaces)
                command = line[..<hash]
            }
            let words = command.split(separator: " ").map(String.init)
            guard let first = words.first, first.hasPrefix("iscsi-") else { continue }
            commands.append(ReadmeCommand(words: words, variant: variant?.isEmpty == true ? nil : variant))
        }
        guard !commands.isEmpty else { throw E2EError("the README's first code block after the anchor has no iscsi- commands") }
        return commands
    }

    /// The commands for `variant` ("make run" or "make serve") and those for both.
    static func firstScreen(for variant: String) throws -> [ReadmeCommand] {
        try firstScreen().filter { $0.variant == nil || $0.variant == variant }
    }
}
