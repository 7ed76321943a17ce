import Config

/// [appliance]: how the appliance comes up on the network. Changes apply at the next boot
/// or service restart, like every other setting.
enum NetworkPage {
    static func run(_ context: MenuContext) throws(MenuExit) {
        while true {
            let appliance = context.session.config.appliance ?? ApplianceSettings()
            let rows = TextLayout.table([
                ("hostname", appliance.hostname ?? "(not set)"),
                ("address", describe(appliance.address)),
                ("gateway", appliance.gateway ?? "(none)"),
                ("console", appliance.console ?? "(kernel default)"),
            ])
            let choice = try context.io.choose("Network", [
                MenuOption("1", "Hostname"),
                MenuOption("2", "Address (static ADDRESS/PREFIX or dhcp)"),
                MenuOption("3", "Gateway"),
                MenuOption("4", "Console"),
                MenuOption("0", "Back"),
            ], header: rows)
            switch choice {
            case "1":
                try context.editSetting("Hostname (Enter keeps, - clears): ",
                                        clearable { InputParsers.word($0, what: "hostname") }) { config, value in
                    followHostname(&config, value)
                    update(&config) { $0.hostname = value }
                }
            case "2":
                try context.editSetting("Address, e.g. 192.168.10.20/24 or dhcp (Enter keeps, - clears): ",
                                        clearable(parseAddress)) { config, address in
                    update(&config) {
                        $0.address = address
                        // DHCP supplies its own gateway; a static one would be refused at save.
                        if address == .dhcp || address == nil { $0.gateway = nil }
                    }
                }
            case "3":
                try context.editSetting("Gateway address (Enter keeps, - clears): ",
                                        clearable(parseGateway)) { config, value in
                    update(&config) { $0.gateway = value }
                }
            case "4":
                try context.editSetting("Console, e.g. ttyS0 or ttyS0,115200 (Enter keeps, - clears): ",
                                        clearable { InputParsers.word($0, what: "console") }) { config, value in
                    update(&config) { $0.console = value }
                }
            default:
                return
            }
        }
    }

    /// The parser derives the node base from the hostname when the file sets none, so two
    /// appliances do not share target names. The menu keeps that rule: a node base that
    /// is still the default, or was derived from the old hostname, follows the new one.
    static func followHostname(_ config: inout TargeConfig, _ hostname: String?) {
        let derivedFromOld = config.appliance?.hostname.map { ServerSettings.hostNodeBasePrefix + ":" + $0.lowercased() }
        let current = config.server.nodeBase
        guard current == ServerSettings.defaultNodeBase || current == derivedFromOld else { return }
        let new = hostname.map { ServerSettings.hostNodeBasePrefix + ":" + $0.lowercased() } ?? ServerSettings.defaultNodeBase
        // A hostname the parser will refuse makes no IQN; that edit is refused anyway.
        guard ISCSIName.isIQN(new) else { return }
        ServerPage.setNodeBase(&config, new)
    }

    static func describe(_ address: ApplianceAddress?) -> String {
        switch address {
        case .dhcp: "dhcp"
        case .static(let address, let prefixLength): "\(address)/\(prefixLength)"
        case nil: "(not set)"
        }
    }

    static func parseAddress(_ text: String) -> Result<ApplianceAddress, InputError> {
        ApplianceAddress.parse(text).map { .success($0) }
            ?? .failure(InputError("Bad address '\(text)': dhcp, or ADDRESS/PREFIX such as 192.168.10.20/24."))
    }

    static func parseGateway(_ text: String) -> Result<String, InputError> {
        IPAddress.parse(text).map { .success(IPAddress.format($0)) }
            ?? .failure(InputError("Bad gateway '\(text)': an IP address such as 192.168.10.1."))
    }

    /// Edits the [appliance] settings, creating the section on first use.
    private static func update(_ config: inout TargeConfig, _ body: (inout ApplianceSettings) -> Void) {
        var settings = config.appliance ?? ApplianceSettings()
        body(&settings)
        config.appliance = settings
    }
}
