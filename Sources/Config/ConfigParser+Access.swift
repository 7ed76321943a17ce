/// Readers for who may connect: [auth] (CHAP) and [clients] (address rules).
extension ConfigParser {
    static func readAuth(_ section: ConfigSection, diagnostics: inout Diagnostics) -> AuthSettings {
        var reader = SectionReader(section, file: diagnostics.file)
        var settings = AuthSettings(line: section.line)
        for entry in section.entries {
            switch entry.key {
            case "incoming":
                reader.addIncoming(entry, to: &settings.incoming)
            case "outgoing":
                guard reader.claim(entry) else { continue }
                settings.outgoing = reader.chapUser(entry)
            case "allow-short-secrets":
                if let value = reader.bool(entry) { settings.allowShortSecrets = value }
            default:
                reader.unknownKey(entry)
            }
        }
        diagnostics.append(reader.diagnostics)
        return settings
    }

    static func readClients(_ section: ConfigSection, diagnostics: inout Diagnostics) -> [AccessRule] {
        var reader = SectionReader(section, file: diagnostics.file)
        var rules: [AccessRule] = []
        for entry in section.entries {
            guard let action = AccessAction(rawValue: entry.key) else {
                reader.unknownKey(entry)
                continue
            }
            // Several addresses on one line are several rules, in order.
            for text in reader.values(entry) ?? [] {
                if text.lowercased() == "all" {
                    rules.append(AccessRule(action: action, match: .all, line: entry.line))
                } else if let cidr = CIDR.parse(text) {
                    rules.append(AccessRule(action: action, match: .network(cidr), line: entry.line))
                } else {
                    reader.error(entry.line, "bad address '\(text)' in [clients] (expected all, a network such as"
                        + " 192.168.10.0/24, or an address)")
                }
            }
        }
        diagnostics.append(reader.diagnostics)
        return rules
    }
}
