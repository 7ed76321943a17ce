import Config

/// Turns typed answers into config values. The value syntax comes from the Config module's
/// own parsers (sizes, CIDRs, portals, iSCSI names); rules about ranges and combinations of
/// values are left to `ConfigCheck`, which asks the config parser itself.
enum InputParsers {
    /// Yes/No as the config file accepts them.
    static func yesNo(_ text: String) -> Result<Bool, InputError> {
        switch text.lowercased() {
        case "y", "yes", "true", "on": .success(true)
        case "n", "no", "false", "off": .success(false)
        default: .failure(InputError("Answer yes or no."))
        }
    }

    /// One word as the file can hold it: no spaces (values are split on them) and no '#'
    /// (it would start a comment and silently cut the value short).
    static func word(_ text: String, what: String) -> Result<String, InputError> {
        if text.isEmpty { return .failure(InputError("The \(what) cannot be empty.")) }
        if text.contains(where: { $0 == " " || $0 == "\t" }) {
            return .failure(InputError("The \(what) cannot contain spaces."))
        }
        if text.contains("#") { return .failure(InputError("The \(what) cannot contain '#'.")) }
        return .success(text)
    }

    /// A name for a device, combination or target, as the section headers allow.
    static func name(_ text: String, what: String) -> Result<String, InputError> {
        ConfigParser.isValidSectionName(text) ? .success(text)
            : .failure(InputError("Bad \(what) name '\(text)': use letters, digits, '.', '_' and '-' only."))
    }

    static func size(_ text: String) -> Result<UInt64, InputError> {
        parseSize(text).map { .success($0) }
            ?? .failure(InputError("Bad size '\(text)': a whole number with B, KiB, MiB, GiB or TiB (e.g. 10GiB)."))
    }

    static func integer(_ text: String) -> Result<Int, InputError> {
        if !text.hasPrefix("+"), let value = Int(text) { return .success(value) }
        return .failure(InputError("Bad number '\(text)'."))
    }

    /// `all`, a network, or a single address, as [clients] takes them.
    static func addressMatch(_ text: String) -> Result<AddressMatch, InputError> {
        if text.lowercased() == "all" { return .success(.all) }
        return CIDR.parse(text).map { .success(.network($0)) }
            ?? .failure(InputError("Bad address '\(text)': all, a network such as 192.168.10.0/24, or an address."))
    }

    /// A target allow entry, read by the Config module's own rule.
    static func targetAllow(_ text: String) -> Result<TargetAllow, InputError> {
        TargetAllow.parse(text).map { .success($0) }
            ?? .failure(InputError("Bad entry '\(text)': a network, an address, or an initiator name"
                + " (iqn.YYYY-MM.domain:..., eui. or naa.)."))
    }

    static func iscsiName(_ text: String) -> Result<String, InputError> {
        ISCSIName.normalize(text).map { .success($0) }
            ?? .failure(InputError("Bad iSCSI name '\(text)': iqn.YYYY-MM.reverse.domain[:name], eui. and 16 hex"
                + " digits, or naa. and 16 or 32 hex digits."))
    }

    /// Listen portals, each optionally followed by `advertise ADDR` (the config's listen line).
    static func portals(_ text: String) -> Result<[ListenEntry], InputError> {
        let entries: [ListenEntry]
        switch ListenEntry.parse(text.split(separator: " ").map(String.init)) {
        case let .success(parsed): entries = parsed
        case let .failure(error): return .failure(InputError(error.description.prefix(1).uppercased() + error.description.dropFirst() + "."))
        }
        var seen: [Portal] = []
        for entry in entries {
            guard !seen.contains(entry.portal) else { return .failure(InputError("\(entry.portal) is listed twice.")) }
            seen.append(entry.portal)
        }
        return entries.isEmpty ? .failure(InputError("Give at least one address.")) : .success(entries)
    }

    /// "CRC32C,None" in preference order, case-insensitive.
    static func digests(_ text: String) -> Result<[Digest], InputError> {
        var result: [Digest] = []
        for word in text.split(separator: ",", omittingEmptySubsequences: false) {
            let word = word.filter { $0 != " " }
            guard let digest = Digest.allCases.first(where: { $0.rawValue.lowercased() == word.lowercased() }) else {
                return .failure(InputError("Bad digest '\(word)': a comma list of CRC32C and None."))
            }
            guard !result.contains(digest) else { return .failure(InputError("\(digest.rawValue) is listed twice.")) }
            result.append(digest)
        }
        return .success(result)
    }

    /// A 1-based position in a list of `count` items.
    static func position(_ text: String, count: Int) -> Result<Int, InputError> {
        guard let value = Int(text), (1...max(count, 1)).contains(value) else {
            return .failure(InputError(count <= 1 ? "Enter 1." : "Enter a number from 1 to \(count)."))
        }
        return .success(value)
    }
}

/// Wraps a parser so that "-" means "clear this setting" (nil).
func clearable<T>(_ parse: @escaping (String) -> Result<T, InputError>) -> (String) -> Result<T?, InputError> {
    { text in text == "-" ? .success(nil) : parse(text).map { $0 } }
}
