/// Readers for the singleton sections: [appliance], [server], [connection], [timeouts].
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
                if value.lowercased() == "dhcp" {
                    settings.address = .dhcp
                } else if value.contains("/"), let cidr = CIDR.parse(value), cidr.prefixLength > 0 {
                    settings.address = .static(address: IPAddress.format(cidr.address), prefixLength: cidr.prefixLength)
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

    static func readServer(_ section: ConfigSection, diagnostics: inout Diagnostics) -> ServerSettings {
        var reader = SectionReader(section, file: diagnostics.file)
        var settings = ServerSettings(listen: [], line: section.line)
        for entry in section.entries {
            switch entry.key {
            case "node-base":
                guard let value = reader.single(entry) else { continue }
                if ISCSIName.isIQN(value), let normalized = ISCSIName.normalize(value) {
                    settings.nodeBase = normalized
                } else {
                    reader.error(entry.line, "bad node-base '\(value)' (expected iqn.YYYY-MM.reverse.domain[:name])")
                }
            case "listen":
                for text in reader.values(entry) ?? [] {
                    guard let portal = Portal.parse(text) else {
                        reader.error(entry.line, "bad listen address '\(text)' (expected ADDRESS[:PORT], IPv6 in brackets: [::]:3260)")
                        continue
                    }
                    if let first = settings.portalLines[portal] {
                        reader.error(entry.line, "listen address \(portal) given twice (first at line \(first))")
                        continue
                    }
                    settings.listen.append(portal)
                    settings.portalLines[portal] = entry.line
                }
            case "max-sessions":
                if let value = reader.int(entry, in: 1...65535) { settings.maxSessions = value }
            case "user":
                guard let value = reader.single(entry) else { continue }
                if isUserName(value) {
                    settings.user = value
                } else {
                    reader.error(entry.line, "bad user '\(value)' (a user name or a numeric uid)")
                }
            default:
                reader.unknownKey(entry)
            }
        }
        // Only a section without any listen line gets the default; one with only bad lines
        // has errors already.
        if reader.lines["listen"] == nil { settings.listen = ServerSettings.defaultListen }
        settings.lines = reader.lines
        diagnostics.append(reader.diagnostics)
        return settings
    }

    /// The RFC key names, lowercased for lookup.
    private static let connectionKeys = Dictionary(uniqueKeysWithValues: ConnectionSettings.keys.map { ($0.lowercased(), $0) })

    static func readConnection(_ section: ConfigSection, diagnostics: inout Diagnostics) -> ConnectionSettings {
        var reader = SectionReader(section, file: diagnostics.file)
        var settings = ConnectionSettings()
        settings.line = section.line
        // RFC 7143 section 13 ranges; lengths are 24-bit fields in PDU headers.
        let length = 512...16_777_215
        for entry in section.entries {
            guard let key = connectionKeys[entry.key] else {
                reader.unknownKey(entry)
                continue
            }
            switch key {
            case "MaxRecvDataSegmentLength":
                if let v = reader.int(entry, in: length, as: key) { settings.maxRecvDataSegmentLength = v }
            case "MaxBurstLength":
                if let v = reader.int(entry, in: length, as: key) { settings.maxBurstLength = v }
            case "FirstBurstLength":
                if let v = reader.int(entry, in: length, as: key) { settings.firstBurstLength = v }
            case "InitialR2T":
                if let v = reader.bool(entry, as: key) { settings.initialR2T = v }
            case "ImmediateData":
                if let v = reader.bool(entry, as: key) { settings.immediateData = v }
            case "MaxOutstandingR2T":
                if let v = reader.int(entry, in: 1...65535, as: key) { settings.maxOutstandingR2T = v }
            case "MaxConnections":
                if let v = reader.int(entry, in: 1...65535, as: key) { settings.maxConnections = v }
            case "HeaderDigest":
                if let v = digests(entry, key: key, reader: &reader) { settings.headerDigest = v }
            case "DataDigest":
                if let v = digests(entry, key: key, reader: &reader) { settings.dataDigest = v }
            case "DataPDUInOrder":
                if let v = reader.bool(entry, as: key) { settings.dataPDUInOrder = v }
            case "DataSequenceInOrder":
                if let v = reader.bool(entry, as: key) { settings.dataSequenceInOrder = v }
            case "DefaultTime2Wait":
                if let v = reader.int(entry, in: 0...3600, as: key) { settings.defaultTime2Wait = v }
            case "DefaultTime2Retain":
                if let v = reader.int(entry, in: 0...3600, as: key) { settings.defaultTime2Retain = v }
            case "ErrorRecoveryLevel":
                if let v = reader.int(entry, in: 0...2, as: key) { settings.errorRecoveryLevel = v }
            default:
                reader.unknownKey(entry)
            }
        }
        if settings.firstBurstLength > settings.maxBurstLength {
            let line = reader.lines["FirstBurstLength"] ?? reader.lines["MaxBurstLength"] ?? section.line
            reader.error(line, "FirstBurstLength (\(settings.firstBurstLength)) must not exceed"
                + " MaxBurstLength (\(settings.maxBurstLength))")
        }
        settings.lines = reader.lines
        diagnostics.append(reader.diagnostics)
        return settings
    }

    /// "CRC32C,None" in preference order; spaces around commas are tolerated.
    private static func digests(_ entry: ConfigEntry, key: String, reader: inout SectionReader) -> [Digest]? {
        guard reader.claim(entry, as: key) else { return nil }
        guard !entry.values.isEmpty else {
            reader.error(entry.line, "missing value for '\(entry.rawKey)' in [connection]")
            return nil
        }
        var result: [Digest] = []
        for word in entry.values.joined().split(separator: ",", omittingEmptySubsequences: false) {
            guard let digest = Digest.allCases.first(where: { $0.rawValue.lowercased() == word.lowercased() }) else {
                reader.error(entry.line, "bad digest '\(word)' for '\(entry.rawKey)' (expected a comma list of CRC32C and None)")
                return nil
            }
            guard !result.contains(digest) else {
                reader.error(entry.line, "digest \(digest.rawValue) listed twice for '\(entry.rawKey)'")
                return nil
            }
            result.append(digest)
        }
        return result
    }

    static func readTimeouts(_ section: ConfigSection, diagnostics: inout Diagnostics) -> TimeoutSettings {
        var reader = SectionReader(section, file: diagnostics.file)
        var settings = TimeoutSettings(line: section.line)
        let maximum = TimeoutSettings.maximum
        for entry in section.entries {
            switch entry.key {
            case "nop-interval":
                if let v = reader.int(entry, in: 0...maximum) { settings.nopInterval = v }
            case "nop-timeout":
                if let v = reader.int(entry, in: 1...maximum) { settings.nopTimeout = v }
            case "login-timeout":
                if let v = reader.int(entry, in: 1...maximum) { settings.loginTimeout = v }
            default:
                reader.unknownKey(entry)
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

    /// A POSIX-ish user name or a numeric uid (the static binary cannot use NSS).
    static func isUserName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "-"), name.utf8.count <= 32 else { return false }
        return name.utf8.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
    }

    static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }
}
