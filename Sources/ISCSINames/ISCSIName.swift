/// iSCSI names (RFC 7143 section 4.2.7, RFC 3722). Names compare case-insensitively, so they
/// are kept lowercased (the stringprep result for the ASCII names anyone uses); two targets
/// spelled differently in the file still collide.
public enum ISCSIName {
    /// RFC 7143 4.2.7.1: an iSCSI name is at most 223 bytes.
    public static let maximumLength = 223

    /// The lowercased name if it is a valid `iqn.`, `eui.` or `naa.` name, else nil.
    ///
    /// - `iqn.YYYY-MM.reverse.domain[:anything]`: the domain part is dot-separated labels of
    ///   letters, digits and '-'; after the first ':' letters, digits, '-', '.', ':' and '_'
    ///   (RFC 3720 does not list '_', but initiators derived from host names use it).
    /// - `eui.` + 16 hex digits, `naa.` + 16 or 32 hex digits.
    public static func normalize(_ name: String) -> String? {
        let lower = name.lowercased()
        guard lower.utf8.count <= maximumLength else { return nil }
        if lower.hasPrefix("iqn.") {
            return isValidIQN(lower) ? lower : nil
        }
        if lower.hasPrefix("eui.") {
            return isHex(lower.dropFirst(4), counts: [16]) ? lower : nil
        }
        if lower.hasPrefix("naa.") {
            return isHex(lower.dropFirst(4), counts: [16, 32]) ? lower : nil
        }
        return nil
    }

    /// Whether `name` is the `iqn.` form (the only form a node base can take, since target
    /// names are appended to it after a ':').
    public static func isIQN(_ name: String) -> Bool {
        name.lowercased().hasPrefix("iqn.") && normalize(name) != nil
    }

    private static func isValidIQN(_ name: String) -> Bool {
        let body = name.utf8.dropFirst(4)  // after "iqn."
        let colon = body.firstIndex(of: UInt8(ascii: ":")) ?? body.endIndex
        let authority = body[..<colon]  // YYYY-MM.reverse.domain
        let unique = body[colon...].dropFirst()
        // The date: four digits, '-', a month 01...12, then '.'.
        let date = Array(authority.prefix(8))
        guard date.count == 8, date[4] == UInt8(ascii: "-"), date[7] == UInt8(ascii: "."),
              (date[0..<4] + date[5..<7]).allSatisfy(isDigit)
        else { return false }
        let month = Int(date[5] - UInt8(ascii: "0")) * 10 + Int(date[6] - UInt8(ascii: "0"))
        guard (1...12).contains(month) else { return false }
        let labels = authority.dropFirst(8).split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard !labels.isEmpty,
              labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy { isLetterOrDigit($0) || $0 == UInt8(ascii: "-") } })
        else { return false }
        if colon != body.endIndex && unique.isEmpty { return false }  // "iqn...:" names nothing
        return unique.allSatisfy {
            isLetterOrDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
                || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "_")
        }
    }

    private static func isHex(_ text: Substring, counts: Set<Int>) -> Bool {
        counts.contains(text.utf8.count) && text.utf8.allSatisfy {
            isDigit($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
        }
    }

    private static func isDigit(_ c: UInt8) -> Bool {
        c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
    }

    private static func isLetterOrDigit(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
    }
}
