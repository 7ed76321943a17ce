/// Reads a config file into a `TargeConfig`: syntax first (ConfigLexer), then each section
/// (the ConfigParser+*.swift readers), then the rules that span sections (ConfigValidator).
/// Every error in the file is collected and thrown together, in line order.
public enum ConfigParser {
    /// A generous cap on the file size, so pointing --config at /dev/zero fails quickly.
    static let maximumFileSize = 16 << 20

    public static func parse(_ text: String, fileName: String = "targe.conf") throws(ConfigErrors) -> TargeConfig {
        var diagnostics = Diagnostics(file: fileName)
        var config = TargeConfig()
        for section in ConfigLexer.sections(in: text, diagnostics: &diagnostics) {
            switch section.kind {
            case "appliance": config.appliance = readAppliance(section, diagnostics: &diagnostics)
            case "server": config.server = readServer(section, diagnostics: &diagnostics)
            case "connection": config.connection = readConnection(section, diagnostics: &diagnostics)
            case "timeouts": config.timeouts = readTimeouts(section, diagnostics: &diagnostics)
            case "auth": config.auth = readAuth(section, diagnostics: &diagnostics)
            case "clients": config.clients = readClients(section, diagnostics: &diagnostics)
            case "device": config.devices.append(readDevice(section, diagnostics: &diagnostics))
            case "combination": config.combinations.append(readCombination(section, diagnostics: &diagnostics))
            case "target": config.targets.append(readTarget(section, diagnostics: &diagnostics))
            default: break  // the lexer only lets known kinds through
            }
        }
        applyNameDefaults(&config, diagnostics: &diagnostics)
        ConfigValidator.validate(config, diagnostics: &diagnostics)
        guard diagnostics.errors.isEmpty else { throw ConfigErrors(diagnostics.sorted) }
        return config
    }

    /// Reads and parses a file; a missing, unreadable or non-UTF-8 file is reported like any
    /// other config error (line 0, or the line holding the bad bytes).
    public static func load(path: String) throws(ConfigErrors) -> TargeConfig {
        try load(path: path, descriptor: nil)
    }

    /// Parses the file open at `descriptor` (taken over and closed) as `path`: a target that
    /// dropped its privileges reads its config through the privileged helper.
    public static func load(path: String, descriptor: Int32?) throws(ConfigErrors) -> TargeConfig {
        let bytes: [UInt8]
        do throws(ConfigFileError) {
            if let descriptor {
                bytes = try FileIO.readAll(fd: descriptor, path: path, limit: maximumFileSize)
            } else {
                bytes = try FileIO.readAll(path: path, limit: maximumFileSize)
            }
        } catch {
            throw ConfigErrors([ConfigError(file: path, line: 0, message: error.reason)])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigErrors([ConfigError(file: path, line: invalidUTF8Line(bytes), message: "not valid UTF-8 text")])
        }
        return try parse(text, fileName: path)
    }

    /// The first line whose bytes are not UTF-8, so the operator knows where to look.
    private static func invalidUTF8Line(_ bytes: [UInt8]) -> Int {
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where String(validating: line, as: UTF8.self) == nil {
            return index + 1
        }
        return 0
    }

    /// Node base and target IQNs that the file leaves out are derived from other values, so
    /// they can only be filled in once every section has been read.
    private static func applyNameDefaults(_ config: inout TargeConfig, diagnostics: inout Diagnostics) {
        if config.server.lines["node-base"] == nil, let appliance = config.appliance, let hostname = appliance.hostname {
            let derived = ServerSettings.hostNodeBasePrefix + ":" + hostname.lowercased()
            if ISCSIName.normalize(derived) != nil {
                config.server.nodeBase = derived
            } else {
                // A hostname may be longer than an iSCSI name can hold after the prefix.
                diagnostics.error(appliance.lines["hostname"] ?? appliance.line,
                                  "hostname '\(hostname.prefix(40))...' is too long for the node base derived from it"
                                      + " (\(derived.utf8.count) bytes, at most \(ISCSIName.maximumLength)); set 'node-base' in [server]")
            }
        }
        for index in config.targets.indices where config.targets[index].lines["iqn"] == nil {
            let target = config.targets[index]
            let iqn = config.server.nodeBase + ":" + target.name.lowercased()
            if let normalized = ISCSIName.normalize(iqn) {
                config.targets[index].iqn = normalized
            } else {
                diagnostics.error(target.line, "IQN '\(iqn)' made from the node base and the target name is invalid"
                    + " (longer than \(ISCSIName.maximumLength) bytes?); set 'iqn' or a shorter name")
            }
        }
    }
}
