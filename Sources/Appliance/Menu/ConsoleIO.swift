/// The menu's only way to the terminal. It enforces the 80x24 rules in one place: every
/// line is wrapped to 79 columns, and after a screenful without input it waits for Enter,
/// so nothing scrolls off a serial console unread. Prompts re-ask until the input parses.
final class ConsoleIO {
    /// Lines shown before pausing: with the prompt (or the pause line) that follows, a
    /// screenful stays within 22 of the terminal's 24 rows.
    static let pageLines = 21

    private let terminal: Terminal
    private var linesSinceInput = 0

    init(_ terminal: Terminal) {
        self.terminal = terminal
    }

    /// Prints text (one or more lines), wrapped and paged.
    func say(_ text: String = "") throws(MenuExit) {
        for line in TextLayout.wrap(text) {
            if linesSinceInput >= Self.pageLines {
                _ = try read("-- more: press Enter --")
            }
            terminal.write(line + "\n")
            linesSinceInput += 1
        }
    }

    func say(lines: [String]) throws(MenuExit) {
        for line in lines { try say(line) }
    }

    /// Shows many lines a screenful at a time, letting the reader stop early with q.
    func page(_ lines: [String]) throws(MenuExit) {
        for line in lines.flatMap({ TextLayout.wrap($0) }) {
            if linesSinceInput >= Self.pageLines {
                let answer = try read("-- more: Enter for the next page, q to stop --")
                if answer.lowercased() == "q" { return }
            }
            terminal.write(line + "\n")
            linesSinceInput += 1
        }
    }

    /// Reads one trimmed line after showing `prompt` (wrapped if it is long).
    func ask(_ prompt: String) throws(MenuExit) -> String {
        try read(prompt)
    }

    /// Like `ask`, without echo where the terminal can manage it; not trimmed, since a
    /// secret is taken as typed (the config file cannot hold spaces anyway).
    func askSecret(_ prompt: String) throws(MenuExit) -> String {
        writePrompt(prompt)
        guard let line = terminal.readSecretLine() else { throw .endOfInput }
        linesSinceInput = 0
        return line
    }

    /// Asks until `parse` accepts the answer; each refusal shows its reason and asks again.
    func ask<T>(_ prompt: String, _ parse: (String) -> Result<T, InputError>) throws(MenuExit) -> T {
        while true {
            switch parse(try ask(prompt)) {
            case .success(let value): return value
            case .failure(let error): try say("  " + error.message)
            }
        }
    }

    /// A yes/no question; an empty answer takes the default shown in capitals.
    func confirm(_ question: String, default answer: Bool = false) throws(MenuExit) -> Bool {
        try ask(question + (answer ? " (Y/n): " : " (y/N): ")) { text in
            text.isEmpty ? .success(answer) : InputParsers.yesNo(text)
        }
    }

    /// Waits for Enter so a result stays on screen before the next menu scrolls it away.
    func pause() throws(MenuExit) {
        _ = try read("Press Enter to continue.")
    }

    /// A numbered menu: a title, option lines, and a prompt that accepts only a listed key.
    func choose(_ title: String, _ options: [MenuOption], header: [String] = []) throws(MenuExit) -> String {
        try say()
        try say(title)
        try say(lines: header)
        for option in options { try say(TextLayout.optionLine(option.key, option.label)) }
        let keys = options.map(\.key)
        return try ask("Choice: ") { text in
            keys.contains(text.lowercased()) ? .success(text.lowercased())
                : .failure(InputError("No option '\(text)'; choose one of " + keys.joined(separator: ", ") + "."))
        }
    }

    private func read(_ prompt: String) throws(MenuExit) -> String {
        writePrompt(prompt)
        guard let line = terminal.readLine() else { throw .endOfInput }
        linesSinceInput = 0
        return trimmed(line)
    }

    /// All but the last line of a long prompt are printed as lines; the last one stays open
    /// for the answer. A trailing space keeps the cursor off the prompt's last character.
    private func writePrompt(_ prompt: String) {
        var lines = TextLayout.wrap(prompt.hasSuffix(" ") ? String(prompt.dropLast()) : prompt)
        let last = lines.removeLast()
        for line in lines {
            terminal.write(line + "\n")
        }
        terminal.write(last.count < TextLayout.width ? last + " " : last)
        linesSinceInput = 0
    }

    private func trimmed(_ line: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        return String(line.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}

/// One line of a numbered menu.
struct MenuOption {
    let key: String
    let label: String

    init(_ key: String, _ label: String) {
        self.key = key
        self.label = label
    }
}
