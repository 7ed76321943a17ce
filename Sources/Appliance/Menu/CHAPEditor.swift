import Config

/// CHAP users, shown and edited the same way for [auth] and for a target: several incoming
/// users (initiators proving themselves) and at most one outgoing user (mutual CHAP).
/// Secrets are read without echo where possible and never shown back.
struct CHAPEditor {
    let get: (TargeConfig) -> [CHAPUser]
    let set: (inout TargeConfig, [CHAPUser]) -> Void
    let getOutgoing: (TargeConfig) -> CHAPUser?
    let setOutgoing: (inout TargeConfig, CHAPUser?) -> Void

    /// "bob (secret: 15 characters)": enough to tell users apart and spot a short secret.
    static func describe(_ user: CHAPUser) -> String {
        "\(user.name) (secret: \(user.secret.count) characters)"
    }

    /// A config line with the secret of an `incoming`/`outgoing` entry starred out, for
    /// showing the line an error is on.
    static func maskingSecret(_ line: String) -> String {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count >= 3, ["incoming", "outgoing"].contains(words[0].lowercased()) else { return line }
        return "\(words[0]) \(words[1]) ********"
    }

    static func describe(_ users: [CHAPUser]) -> String {
        users.isEmpty ? "(none)" : users.map(describe).joined(separator: ", ")
    }

    func editIncoming(_ context: MenuContext, _ draft: inout TargeConfig, title: String) throws(MenuExit) {
        while true {
            let users = get(draft)
            let list = users.isEmpty ? ["  (no users)"]
                : users.enumerated().map { "  \($0.offset + 1). \(Self.describe($0.element))" }
            switch try context.io.choose(title, [
                MenuOption("1", "Add a user"),
                MenuOption("2", "Remove a user"),
                MenuOption("0", "Back"),
            ], header: list) {
            case "1":
                let name: String? = try context.io.ask("CHAP user name (Enter to cancel): ") { text in
                    if text.isEmpty { return .success(nil) }
                    if users.contains(where: { $0.name == text }) {
                        return .failure(InputError("There is already a user '\(text)'; remove it first to change its secret."))
                    }
                    return InputParsers.word(text, what: "user name").map { $0 }
                }
                guard let name else { continue }
                try context.editField(&draft, "Secret for \(name), at least 12 characters (Enter to cancel): ",
                                      secret: true, { InputParsers.word($0, what: "secret") }) { config, secret in
                    set(&config, get(config) + [CHAPUser(name: name, secret: secret)])
                }
            case "2":
                if let index = try context.pick("User to remove", from: users.map(\.name)) {
                    set(&draft, users.enumerated().filter { $0.offset != index }.map(\.element))
                }
            default:
                return
            }
        }
    }

    func editOutgoing(_ context: MenuContext, _ draft: inout TargeConfig) throws(MenuExit) {
        try context.io.say("Outgoing user: " + (getOutgoing(draft).map(Self.describe) ?? "(none)"))
        let name: String?? = try context.io.ask("Name the target proves itself with (Enter keeps, - removes): ") { text in
            if text.isEmpty { return .success(nil) }
            if text == "-" { return .success(.some(nil)) }
            return InputParsers.word(text, what: "user name").map { .some($0) }
        }
        switch name {
        case nil:
            return
        case .some(nil):
            setOutgoing(&draft, nil)
        case .some(let name?):
            try context.editField(&draft, "Secret for \(name), different from every incoming secret: ",
                                  secret: true, { InputParsers.word($0, what: "secret") }) { config, secret in
                setOutgoing(&config, CHAPUser(name: name, secret: secret))
            }
        }
    }
}
