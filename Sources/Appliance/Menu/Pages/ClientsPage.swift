import Config

/// [clients]: "allowed client addresses" as ordered allow/deny rules; the first rule that
/// matches decides, and a client no rule matches is allowed.
enum ClientsPage {
    static func run(_ context: MenuContext) throws(MenuExit) {
        while true {
            let rules = context.session.config.clients
            let list = rules.isEmpty ? ["  (no rules: every client may connect)"]
                : rules.enumerated().map { "  \($0.offset + 1). \($0.element.action.rawValue) \($0.element.match)" }
            switch try context.io.choose("Allowed client addresses (first match wins)", [
                MenuOption("1", "Add a rule"),
                MenuOption("2", "Remove a rule"),
                MenuOption("3", "Move a rule"),
                MenuOption("0", "Back"),
            ], header: list) {
            case "1": try add(context, count: rules.count)
            case "2":
                if let index = try context.pick("Rule to remove", from: rules.map { "\($0.action.rawValue) \($0.match)" }) {
                    try context.change { $0.clients.remove(at: index) }
                }
            case "3": try move(context, count: rules.count)
            default: return
            }
        }
    }

    private static func add(_ context: MenuContext, count: Int) throws(MenuExit) {
        let rule: AccessRule? = try context.io.ask("Rule, e.g. 'allow 192.168.10.0/24' or 'deny all' (Enter to cancel): ") {
            text in text.isEmpty ? .success(nil) : parseRule(text).map { $0 }
        }
        guard let rule else { return }
        var position = count + 1
        if count > 0 {
            position = try context.io.ask("Position, 1-\(count + 1) (Enter for last): ") { text in
                text.isEmpty ? .success(count + 1) : InputParsers.position(text, count: count + 1)
            }
        }
        try context.change { $0.clients.insert(rule, at: position - 1) }
    }

    private static func move(_ context: MenuContext, count: Int) throws(MenuExit) {
        guard count > 1 else {
            try context.io.say("There is nothing to reorder.")
            return
        }
        let from = try context.io.ask("Rule to move, 1-\(count): ") { InputParsers.position($0, count: count) }
        let to = try context.io.ask("New position, 1-\(count): ") { InputParsers.position($0, count: count) }
        try context.change { config in
            let rule = config.clients.remove(at: from - 1)
            config.clients.insert(rule, at: to - 1)
        }
    }

    static func parseRule(_ text: String) -> Result<AccessRule, InputError> {
        let words = text.split(separator: " ").map(String.init)
        guard words.count == 2, let action = AccessAction(rawValue: words[0].lowercased()) else {
            return .failure(InputError("Give allow or deny and an address, e.g. 'deny all'."))
        }
        return InputParsers.addressMatch(words[1]).map { AccessRule(action: action, match: $0) }
    }
}
