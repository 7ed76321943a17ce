/// Readers for [connection] (RFC 7143 keys) and [timeouts].
extension ConfigParser {
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
}
