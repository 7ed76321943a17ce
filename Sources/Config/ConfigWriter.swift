/// Turns a `TargeConfig` back into file text, for the appliance's console setup and for
/// any tool that edits the config. The output is canonical (fixed section order, every
/// [server]/[connection]/[timeouts] value spelled out so the file documents itself) and
/// parses back to an equal config.
public enum ConfigWriter {
    /// The config as text. Values are written as they are: a name or secret holding
    /// whitespace or '#' cannot be expressed in the format, so callers building a config
    /// by hand should parse the result to check it.
    public static func render(_ config: TargeConfig) -> String {
        var blocks: [String] = []
        if let appliance = config.appliance {
            var rows: [(String, String)] = []
            if let hostname = appliance.hostname { rows.append(("hostname", hostname)) }
            switch appliance.address {
            case .dhcp: rows.append(("address", "dhcp"))
            case .static(let address, let prefixLength): rows.append(("address", "\(address)/\(prefixLength)"))
            case nil: break
            }
            if let gateway = appliance.gateway { rows.append(("gateway", gateway)) }
            if let console = appliance.console { rows.append(("console", console)) }
            blocks.append(block("[appliance]", rows))
        }

        let server = config.server
        var serverRows = [
            ("node-base", server.nodeBase),
            ("listen", ListenEntry.format(server.listenEntries)),
            ("max-sessions", "\(server.maxSessions)"),
        ]
        if server.maxDiscoverySessions != ServerSettings.defaultMaxDiscoverySessions {
            serverRows.append(("max-discovery-sessions", "\(server.maxDiscoverySessions)"))
        }
        if server.maxConnections != ServerSettings.defaultMaxConnections {
            serverRows.append(("max-connections", "\(server.maxConnections)"))
        }
        if server.maxLoginsPerAddress != ServerSettings.defaultMaxLoginsPerAddress {
            serverRows.append(("max-logins-per-address", "\(server.maxLoginsPerAddress)"))
        }
        if let metrics = server.metrics { serverRows.append(("metrics", "\(metrics)")) }
        if let gateway = server.gatewayName { serverRows.append(("gateway-name", gateway)) }
        if let user = server.user { serverRows.append(("user", user)) }
        if let rate = server.sanitizeRate { serverRows.append(("sanitize-rate", formatSize(rate))) }
        blocks.append(block("[server]", serverRows))

        let c = config.connection
        blocks.append(block("[connection]", [
            ("MaxRecvDataSegmentLength", "\(c.maxRecvDataSegmentLength)"),
            ("MaxBurstLength", "\(c.maxBurstLength)"),
            ("FirstBurstLength", "\(c.firstBurstLength)"),
            ("InitialR2T", yesNo(c.initialR2T)),
            ("ImmediateData", yesNo(c.immediateData)),
            ("MaxOutstandingR2T", "\(c.maxOutstandingR2T)"),
            ("MaxConnections", "\(c.maxConnections)"),
            ("HeaderDigest", c.headerDigest.map(\.rawValue).joined(separator: ",")),
            ("DataDigest", c.dataDigest.map(\.rawValue).joined(separator: ",")),
            ("DataPDUInOrder", yesNo(c.dataPDUInOrder)),
            ("DataSequenceInOrder", yesNo(c.dataSequenceInOrder)),
            ("DefaultTime2Wait", "\(c.defaultTime2Wait)"),
            ("DefaultTime2Retain", "\(c.defaultTime2Retain)"),
            ("ErrorRecoveryLevel", "\(c.errorRecoveryLevel)"),
        ]))

        let t = config.timeouts
        blocks.append(block("[timeouts]", [
            ("nop-interval", "\(t.nopInterval)"),
            ("nop-timeout", "\(t.nopTimeout)"),
            ("login-timeout", "\(t.loginTimeout)"),
        ]))

        let auth = config.auth
        let authRows = chapRows(incoming: auth.incoming, outgoing: auth.outgoing)
            + (auth.allowShortSecrets ? [("allow-short-secrets", "yes")] : [])
        if !authRows.isEmpty { blocks.append(block("[auth]", authRows)) }

        if !config.clients.isEmpty {
            blocks.append(block("[clients]", config.clients.map { ($0.action.rawValue, $0.match.description) }))
        }

        for device in config.devices {
            var rows: [(String, String)] = []
            switch device.source {
            case .path(let path): rows.append(("path", path))
            case .ram(let bytes): rows.append(("ram", formatSize(bytes)))
            case .rbd(let rbd):
                rows.append(("rbd", rbd.path))
                if rbd.cephConf != RBDSource.defaultCephConf { rows.append(("ceph-conf", rbd.cephConf)) }
                if rbd.cephID != RBDSource.defaultCephID { rows.append(("ceph-id", rbd.cephID)) }
            }
            if device.offset != 0 { rows.append(("offset", formatSize(device.offset))) }
            if let size = device.size { rows.append(("size", formatSize(size))) }
            if let engine = device.engine { rows.append(("engine", engine.rawValue)) }
            if device.create { rows.append(("create", "yes")) }
            if let blockSize = device.blockSize { rows.append(("block-size", "\(blockSize)")) }
            blocks.append(block("[device \(device.name)]", rows))
        }

        for combination in config.combinations {
            var rows = [
                ("raid", "\(combination.raid.rawValue)"),
                ("members", combination.members.joined(separator: " ")),
            ]
            if let chunk = combination.chunk { rows.append(("chunk", formatSize(chunk))) }
            blocks.append(block("[combination \(combination.name)]", rows))
        }

        for target in config.targets {
            var rows: [(String, String)] = []
            // Leave the IQN out when it is the derived one, so renaming the node base
            // renames the targets as the operator would expect.
            if target.iqn != server.nodeBase + ":" + target.name.lowercased() { rows.append(("iqn", target.iqn)) }
            if let alias = target.alias { rows.append(("alias", alias)) }
            for lun in target.luns { rows.append(("lun", "\(lun.lun) \(lun.device)")) }
            rows.append(("access", target.access.rawValue))
            if target.targetReset != .allow { rows.append(("target-reset", target.targetReset.rawValue)) }
            for gateway in target.gateways { rows.append(("gateway", "\(gateway.name) \(gateway.portal)")) }
            for entry in target.allow { rows.append(("allow", entry.description)) }
            rows += chapRows(incoming: target.incoming, outgoing: target.outgoing)
            blocks.append(block("[target \(target.name)]", rows))
        }

        return blocks.joined(separator: "\n")
    }

    /// Replaces the file at `path` with `text` so that a crash leaves either the old or the
    /// new file: temp file in the same directory, write, fsync, rename, fsync the directory.
    /// The file ends up mode 0600 since it may hold CHAP secrets.
    /// `afterStep` is a test seam: it runs between the steps, and throwing from it stands
    /// for a crash at that point (the tests check which file survives).
    public static func writeAtomically(_ text: String, to path: String,
                                       afterStep: (AtomicWriteStep) throws(ConfigFileError) -> Void = { _ in })
        throws(ConfigFileError) {
        try FileIO.writeAtomically(text, to: path, afterStep: afterStep)
    }

    private static func chapRows(incoming: [CHAPUser], outgoing: CHAPUser?) -> [(String, String)] {
        incoming.map { ("incoming", ([$0.name, $0.secret] + $0.initiators).joined(separator: " ")) }
            + (outgoing.map { [("outgoing", "\($0.name) \($0.secret)")] } ?? [])
    }

    private static func yesNo(_ value: Bool) -> String { value ? "Yes" : "No" }

    /// A header and its rows with the values lined up, as a person would write them.
    private static func block(_ header: String, _ rows: [(String, String)]) -> String {
        let width = rows.map(\.0.count).max() ?? 0
        var text = header + "\n"
        for (key, value) in rows {
            text += key + String(repeating: " ", count: width - key.count + 2) + value + "\n"
        }
        return text
    }
}
