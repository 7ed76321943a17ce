import Config

/// [server]: the node base name, the allowed server addresses (listen portals), the
/// session limit and the user the target drops to.
enum ServerPage {
    static func run(_ context: MenuContext) throws(MenuExit) {
        while true {
            let server = context.session.config.server
            let rows = TextLayout.table([
                ("node-base", server.nodeBase),
                ("listen", ListenEntry.format(server.listenEntries)),
                ("max-sessions", "\(server.maxSessions)"),
                ("user", server.user ?? "(none: stays as started)"),
            ])
            switch try context.io.choose("Server options", [
                MenuOption("1", "Node base name (target IQNs default to NODE-BASE:NAME)"),
                MenuOption("2", "Listen addresses (allowed server addresses)"),
                MenuOption("3", "Maximum sessions"),
                MenuOption("4", "Unprivileged user"),
                MenuOption("0", "Back"),
            ], header: rows) {
            case "1":
                try context.editSetting("Node base, iqn.YYYY-MM.reverse.domain[:name] (Enter keeps): ", parseNodeBase) {
                    setNodeBase(&$0, $1)
                }
            case "2":
                try context.editSetting("Addresses separated by spaces, e.g. 0.0.0.0:3260 [::]:3260; after one, advertise ADDR"
                                        + " reports ADDR in discovery instead (NAT) (Enter keeps): ",
                                        InputParsers.portals) {
                    $0.server.listenEntries = $1
                }
            case "3":
                try context.editSetting("Maximum concurrent sessions (Enter keeps): ", InputParsers.integer) {
                    $0.server.maxSessions = $1
                }
            case "4":
                try context.editSetting("User name or uid (Enter keeps, - for none): ",
                                        clearable { InputParsers.word($0, what: "user") }) {
                    $0.server.user = $1
                }
            default:
                return
            }
        }
    }

    static func parseNodeBase(_ text: String) -> Result<String, InputError> {
        guard ISCSIName.isIQN(text), let name = ISCSIName.normalize(text) else {
            return .failure(InputError("Bad node base '\(text)': iqn.YYYY-MM.reverse.domain[:name]."))
        }
        return .success(name)
    }

    /// Targets whose IQN came from the old node base follow it, as they would if the file
    /// were edited by hand (the writer leaves derived IQNs out); explicit ones stay.
    static func setNodeBase(_ config: inout TargeConfig, _ nodeBase: String) {
        let old = config.server.nodeBase
        for index in config.targets.indices where config.targets[index].iqn == old + ":" + config.targets[index].name.lowercased() {
            config.targets[index].iqn = nodeBase + ":" + config.targets[index].name.lowercased()
        }
        config.server.nodeBase = nodeBase
    }
}
