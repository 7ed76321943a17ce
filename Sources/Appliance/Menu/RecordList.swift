import Config

/// The page shape that devices, combinations and targets share: a numbered list of named
/// records with add, edit and remove. Each page supplies what is particular to it.
struct RecordList {
    let title: String
    /// "device", "combination", "target": used in the options and prompts.
    let noun: String
    /// Each record's name and a one-line description, in file order.
    let items: (TargeConfig) -> [(name: String, summary: String)]
    let add: (MenuContext) throws(MenuExit) -> Void
    let edit: (MenuContext, String) throws(MenuExit) -> Void
    let remove: (MenuContext, String) throws(MenuExit) -> Void

    func run(_ context: MenuContext) throws(MenuExit) {
        while true {
            let items = items(context.session.config)
            let list = items.isEmpty ? ["  (no \(noun)s yet)"]
                : items.enumerated().map { "  \($0.offset + 1). \($0.element.name): \($0.element.summary)" }
            let choice = try context.io.choose(title, [
                MenuOption("1", "Add a \(noun)"),
                MenuOption("2", "Edit a \(noun)"),
                MenuOption("3", "Remove a \(noun)"),
                MenuOption("0", "Back"),
            ], header: list)
            switch choice {
            case "1":
                try add(context)
            case "2", "3":
                let verb = choice == "2" ? "edit" : "remove"
                guard let index = try context.pick("\(noun.capitalizedFirst) to \(verb)", from: items.map(\.name)) else {
                    continue
                }
                try (choice == "2" ? edit : remove)(context, items[index].name)
            default:
                return
            }
        }
    }

    /// Removes a device or combination unless something uses it (SPEC 1: the message names
    /// the user), after asking.
    static func removeStorage(_ context: MenuContext, _ noun: String, _ name: String, note: String = "",
                              _ removal: (inout TargeConfig) -> Void) throws(MenuExit) {
        let users = ConfigReferences.users(of: name, in: context.session.config)
        guard users.isEmpty else {
            try context.io.say("\(noun.capitalizedFirst) \(name) is used by " + users.joined(separator: ", ")
                + "; remove it from there first.")
            return
        }
        guard try context.io.confirm("Remove \(noun) \(name)?" + note) else { return }
        if try context.change(removal) {
            try context.io.say("Removed \(noun) \(name).")
        }
    }
}

extension String {
    /// "device" -> "Device", for messages that start with a noun.
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
