/// Reader for [combination NAME].
extension ConfigParser {
    static func readCombination(_ section: ConfigSection, diagnostics: inout Diagnostics) -> CombinationConfig {
        var reader = SectionReader(section, file: diagnostics.file)
        let title = section.title
        var raid: RAIDLevel?
        var members: [String]?
        var chunk: UInt64?
        for entry in section.entries {
            switch entry.key {
            case "raid":
                guard let value = reader.single(entry) else { continue }
                switch value.lowercased() {
                case "0", "raid0": raid = .raid0
                case "1", "raid1": raid = .raid1
                default: reader.error(entry.line, "bad raid level '\(value)' (expected 0 or 1)")
                }
            case "members":
                guard reader.claim(entry) else { continue }
                guard let values = reader.values(entry) else { continue }
                let bad = values.filter { !ConfigLexer.isValidName($0) }
                if bad.isEmpty {
                    members = values
                } else {
                    reader.error(entry.line, "bad member name '\(bad[0])'")
                }
            case "chunk":
                chunk = reader.size(entry)
            default:
                reader.unknownKey(entry)
            }
        }
        let lines = reader.lines
        if raid == nil && lines["raid"] == nil {
            reader.error(section.line, "\(title) needs 'raid 0' or 'raid 1'")
        }
        if members == nil && lines["members"] == nil {
            reader.error(section.line, "\(title) needs members")
        }
        if raid == .raid1, let members, members.count < 2 {
            reader.error(lines["members"] ?? section.line, "raid 1 needs at least 2 members, got \(members.count)")
        }
        if let chunk, let line = lines["chunk"] {
            if raid == .raid1 {
                reader.error(line, "chunk applies only to raid 0 (striping)")
            } else if chunk < 4096 || chunk & (chunk - 1) != 0 {
                reader.error(line, "chunk must be a power of two of at least 4KiB, got \(chunk) bytes")
            }
        }
        diagnostics.append(reader.diagnostics)
        return CombinationConfig(name: section.name ?? "", raid: raid ?? .raid0, members: members ?? [],
                                 chunk: chunk, line: section.line, lines: lines)
    }
}
