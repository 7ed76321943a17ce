import Config

/// [auth]: CHAP for discovery sessions and for targets without users of their own.
enum AuthPage {
    static func run(_ context: MenuContext) throws(MenuExit) {
        let chap = CHAPEditor(
            get: { $0.auth.incoming }, set: { $0.auth.incoming = $1 },
            getOutgoing: { $0.auth.outgoing }, setOutgoing: { $0.auth.outgoing = $1 })
        while true {
            let auth = context.session.config.auth
            let rows = TextLayout.table([
                ("incoming", CHAPEditor.describe(auth.incoming)),
                ("outgoing", auth.outgoing.map(CHAPEditor.describe) ?? "(none)"),
                ("short secrets", auth.allowShortSecrets ? "allowed (not recommended)" : "refused (under 12 bytes)"),
            ])
            let header = rows + ["Incoming: initiators prove themselves. Outgoing: the target proves itself."]
            switch try context.io.choose("Authentication", [
                MenuOption("1", "Incoming users"),
                MenuOption("2", "Outgoing user (mutual CHAP)"),
                MenuOption("3", "Allow secrets shorter than 12 bytes"),
                MenuOption("0", "Back"),
            ], header: header) {
            case "1":
                var draft = context.session.config
                try chap.editIncoming(context, &draft, title: "Incoming CHAP users")
                _ = try context.commit(draft)
            case "2":
                var draft = context.session.config
                try chap.editOutgoing(context, &draft)
                _ = try context.commit(draft)
            case "3":
                try context.editSetting("Allow short secrets? yes/no (Enter keeps): ", InputParsers.yesNo) {
                    $0.auth.allowShortSecrets = $1
                }
            default:
                return
            }
        }
    }
}
