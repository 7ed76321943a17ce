/// Reader for [appliance].
extension ConfigParser {
    static func readAppliance(_ section: ConfigSection, diagnostics: inout Diagnostics) -> ApplianceSettings {
        var reader = SectionReader(section, file: diagnostics.file)
        var settings = ApplianceSettings(line: section.line)
        for entry in section.entries {
            switch entry.key {
            case "hostname":
                guard let value = reader.single(entry) else { continue }
                if isHostname(value) {
                    settings.hostname = value
                } else {
                    reader.error(entry.line, "bad hostname '\(value)' (dot-separated labels of letters, digits and '-')")
                }
            case "address":
                guard let value = reader.single(entry) else { continue }
                if let address = ApplianceAddress.parse(value) {
                    settings.address = address
                } else {
                    reader.error(entry.line, "bad address '\(value)' (expected dhcp or ADDRESS/PREFIX such as 192.168.10.20/24)")
                }
            case "gateway":
                guard let value = reader.single(entry) else { continue }
                if let bytes = IPAddress.parse(value) {
                    settings.gateway = IPAddress.format(bytes)
                } else {
                    reader.error(entry.line, "bad gateway '\(value)' (expected an IP address)")
                }
            case "console":
                guard let value = reader.single(entry) else { continue }
                if isConsoleName(value) {
                    settings.console = value
                } else {
                    reader.error(entry.line, "bad console '\(value)' (a kernel console name such as ttyS0, not a path)")
                }
            default:
                reader.unknownKey(entry)
            }
        }
        if let gateway = settings.gateway, let line = reader.lines["gateway"] {
            if case .static(let address, _) = settings.address {
                if address.contains(":") != gateway.contains(":") {
                    reader.error(line, "gateway \(gateway) is not in the same address family as \(address)")
                }
            } else {
                reader.error(line, "gateway needs a static address (DHCP supplies its own)")
            }
        }
        settings.lines = reader.lines
        diagnostics.append(reader.diagnostics)
        return settings
    }

    /// RFC 1123 host name: labels of 1-63 letters, digits and '-', not starting or ending with '-'.
    static func isHostname(_ name: String) -> Bool {
        guard name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count) && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// ttyS0, hvc0, ttyAMA0, optionally with ",115200n8" as the kernel's console= takes it.
    static func isConsoleName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isAlphanumeric(first) else { return false }
        return name.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "_") }
    }
}
