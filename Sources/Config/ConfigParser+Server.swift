/// Reader for [server].
extension ConfigParser {
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
                guard let words = reader.values(entry) else { continue }
                let entries: [ListenEntry]
                switch ListenEntry.parse(words) {
                case let .success(parsed): entries = parsed
                case let .failure(error):
                    reader.error(entry.line, error.description)
                    continue
                }
                for listenEntry in entries {
                    let portal = listenEntry.portal
                    if let first = settings.portalLines[portal] {
                        reader.error(entry.line, "listen address \(portal) given twice (first at line \(first))")
                        continue
                    }
                    settings.listen.append(portal)
                    if !listenEntry.advertised.isEmpty { settings.advertised[portal] = listenEntry.advertised }
                    settings.portalLines[portal] = entry.line
                }
            case "max-sessions":
                if let value = reader.int(entry, in: 1...65535) { settings.maxSessions = value }
            case "max-discovery-sessions":
                if let value = reader.int(entry, in: 1...65535) { settings.maxDiscoverySessions = value }
            case "max-connections":
                if let value = reader.int(entry, in: 1...1_000_000) { settings.maxConnections = value }
            case "max-logins-per-address":
                if let value = reader.int(entry, in: 1...65535) { settings.maxLoginsPerAddress = value }
            case "sanitize-rate":
                // SIZE per second ("64MiB"); 0 means as fast as the device goes.
                guard let value = reader.size(entry) else { continue }
                settings.sanitizeRate = value == 0 ? nil : value
            case "metrics":
                guard let value = reader.single(entry) else { continue }
                // The port is never implied: 3260 would collide with the iSCSI portal.
                let namesPort = value.contains("]:") || (!value.hasPrefix("[") && value.filter { $0 == ":" }.count == 1)
                guard namesPort, let portal = Portal.parse(value) else {
                    reader.error(entry.line, "bad metrics address '\(value)' (expected ADDR:PORT, e.g. 127.0.0.1:9420)")
                    continue
                }
                settings.metrics = portal
            case "gateway-name":
                guard let value = reader.single(entry) else { continue }
                if GatewayConfig.isValidName(value) {
                    settings.gatewayName = value
                } else {
                    reader.error(entry.line, "bad gateway-name '\(value)' (letters, digits, '.', '-' and '_', at most 32)")
                }
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
        if let metrics = settings.metrics, metrics.port != 0, settings.listen.contains(metrics) {
            reader.error(reader.lines["metrics"] ?? section.line, "metrics address \(metrics) is also a listen portal")
            settings.metrics = nil
        }
        settings.lines = reader.lines
        diagnostics.append(reader.diagnostics)
        return settings
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
