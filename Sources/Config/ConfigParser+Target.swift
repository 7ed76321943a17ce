/// Reader for [target NAME].
extension ConfigParser {
    /// TargetAlias is a text value of at most 255 bytes (RFC 7143 13.6).
    static let maximumAliasLength = 255

    static func readTarget(_ section: ConfigSection, diagnostics: inout Diagnostics) -> TargetConfig {
        var reader = SectionReader(section, file: diagnostics.file)
        let title = section.title
        // The IQN is filled in by applyNameDefaults unless the file sets one.
        var target = TargetConfig(name: section.name ?? "", iqn: "", line: section.line)
        var allowAllLine: Int?
        for entry in section.entries {
            switch entry.key {
            case "iqn":
                guard let value = reader.single(entry) else { continue }
                if let iqn = ISCSIName.normalize(value) {
                    target.iqn = iqn
                } else {
                    reader.error(entry.line, "bad IQN '\(value)' (expected iqn.YYYY-MM.reverse.domain[:name],"
                        + " eui. and 16 hex digits, or naa. and 16 or 32 hex digits)")
                }
            case "alias":
                // The rest of the line, so an alias may have spaces (runs of them become one).
                guard reader.claim(entry), let words = reader.values(entry) else { continue }
                let alias = words.joined(separator: " ")
                if alias.utf8.count <= maximumAliasLength {
                    target.alias = alias
                } else {
                    reader.error(entry.line, "alias is longer than \(maximumAliasLength) bytes")
                }
            case "lun":
                guard let values = reader.values(entry, count: 2, usage: "a LUN number and a device name"),
                      let number = reader.number(values[0], entry: entry, in: 0...16383)
                else { continue }
                if let earlier = target.luns.first(where: { $0.lun == number }) {
                    reader.error(entry.line, "lun \(number) defined twice in \(title) (first at line \(earlier.line))")
                    continue
                }
                target.luns.append(LUNMapping(lun: number, device: values[1], line: entry.line))
            case "target-reset":
                guard let value = reader.single(entry) else { continue }
                if let policy = TargetResetPolicy(rawValue: value.lowercased()) {
                    target.targetReset = policy
                } else {
                    reader.error(entry.line, "bad target-reset '\(value)' (expected allow or refuse)")
                }
            case "access":
                guard let value = reader.single(entry) else { continue }
                switch value.lowercased() {
                case "rw", "read-write": target.access = .readWrite
                case "ro", "read-only": target.access = .readOnly
                default: reader.error(entry.line, "bad access '\(value)' (expected rw or ro)")
                }
            case "allow":
                for text in reader.values(entry) ?? [] {
                    if text.lowercased() == "all" {
                        allowAllLine = allowAllLine ?? entry.line
                    } else if let allow = TargetAllow.parse(text) {
                        target.allow.append(allow)
                    } else {
                        reader.error(entry.line, "bad allow entry '\(text)' (expected all, a network, an address,"
                            + " or an initiator name starting iqn., eui. or naa.)")
                    }
                }
            case "incoming":
                reader.addIncoming(entry, to: &target.incoming)
            case "gateway":
                guard let values = reader.values(entry, count: 2, usage: "a gateway name and its ADDR[:PORT]") else { continue }
                guard GatewayConfig.isValidName(values[0]) else {
                    reader.error(entry.line, "bad gateway name '\(values[0])' (letters, digits, '.', '-' and '_', at most 32)")
                    continue
                }
                guard let portal = Portal.parse(values[1]), portal.port != 0,
                      portal.host != "0.0.0.0", portal.host != "::" else {
                    reader.error(entry.line, "bad gateway address '\(values[1])' (expected the address initiators use,"
                        + " ADDR[:PORT], e.g. 192.168.10.21:3260)")
                    continue
                }
                if let earlier = target.gateways.first(where: { $0.name == values[0] || $0.portal == portal }) {
                    reader.error(entry.line, "gateway \(values[0]) \(portal) repeats gateway \(earlier.name) \(earlier.portal)"
                        + " (line \(earlier.line))")
                    continue
                }
                target.gateways.append(GatewayConfig(name: values[0], portal: portal, line: entry.line))
            case "outgoing":
                guard reader.claim(entry) else { continue }
                target.outgoing = reader.chapUser(entry)
            default:
                reader.unknownKey(entry)
            }
        }
        if let line = allowAllLine, !target.allow.isEmpty {
            reader.error(line, "'allow all' cannot be combined with other allow entries in \(title)")
        }
        if target.luns.isEmpty && reader.lines["lun"] == nil {
            reader.error(section.line, "\(title) has no lun")
        }
        target.lines = reader.lines
        diagnostics.append(reader.diagnostics)
        return target
    }
}
