/// Text <-> bytes for IPv4 and IPv6 addresses, written out here because the module has no
/// Foundation and the config must be checked without touching the network stack.
/// Addresses are plain byte arrays (4 or 16 bytes), the form socket addresses come in.
public enum IPAddress {
    /// "192.168.1.2" -> 4 bytes, "fe80::1" or "::ffff:10.0.0.1" -> 16 bytes; nil otherwise.
    /// Zone ids ("%eth0") are not accepted: nothing in the config can use them.
    public static func parse(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        return utf8.contains(UInt8(ascii: ":")) ? parseIPv6(utf8[...]) : parseIPv4(utf8[...])
    }

    /// Dotted quad, four decimal fields 0...255. Leading zeros are refused because
    /// inet_aton reads "010" as octal and we would rather not guess which one was meant.
    static func parseIPv4(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        let fields = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard fields.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for field in fields {
            guard (1...3).contains(field.count),
                  field.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  field.count == 1 || field.first != UInt8(ascii: "0")
            else { return nil }
            let value = field.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            guard value <= 255 else { return nil }
            bytes.append(UInt8(value))
        }
        return bytes
    }

    /// RFC 4291 section 2.2 text forms: eight hex groups, at most one "::" standing for one or
    /// more zero groups, and an optional dotted IPv4 tail taking the last two groups.
    static func parseIPv6(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        let colon = UInt8(ascii: ":")
        var gap: Int?
        var index = text.startIndex
        while index + 1 < text.endIndex {
            if text[index] == colon && text[index + 1] == colon {
                guard gap == nil else { return nil }  // a second "::" would be ambiguous
                gap = index
                index += 2
            } else {
                index += 1
            }
        }
        var groups: [UInt16]
        if let gap {
            guard let head = hexGroups(text[text.startIndex..<gap], ipv4Tail: false),
                  let tail = hexGroups(text[(gap + 2)...], ipv4Tail: true),
                  head.count + tail.count <= 7
            else { return nil }
            groups = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let all = hexGroups(text, ipv4Tail: true), all.count == 8 else { return nil }
            groups = all
        }
        return groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    private static func hexGroups(_ text: ArraySlice<UInt8>, ipv4Tail: Bool) -> [UInt16]? {
        if text.isEmpty { return [] }
        let fields = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (position, field) in fields.enumerated() {
            if ipv4Tail && position == fields.count - 1 && field.contains(UInt8(ascii: ".")) {
                guard let v4 = parseIPv4(field) else { return nil }
                groups.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                groups.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                continue
            }
            guard (1...4).contains(field.count) else { return nil }
            var value: UInt16 = 0
            for char in field {
                guard let digit = hexDigit(char) else { return nil }
                value = value << 4 | UInt16(digit)
            }
            groups.append(value)
        }
        return groups
    }

    private static func hexDigit(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): char - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Canonical text: dotted quad, or RFC 5952 for IPv6 (lowercase, no leading zeros, the
    /// longest run of two or more zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d).
    /// Any other byte count gives "" because it is not an address.
    public static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 {
            return bytes.map { String($0) }.joined(separator: ".")
        }
        guard bytes.count == 16 else { return "" }
        if isIPv4Mapped(bytes) {
            return "::ffff:" + format(Array(bytes[12...]))
        }
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var best = (start: -1, length: 1)  // runs of one group are not compressed (RFC 5952 4.2.2)
        var start = 0
        while start < 8 {
            var end = start
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - start > best.length { best = (start, end - start) }
            start = end + 1
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard best.start >= 0 else { return hex(0..<8) }
        return hex(0..<best.start) + "::" + hex((best.start + best.length)..<8)
    }

    /// ::ffff:a.b.c.d, which is how IPv4 peers look on an IPv6 socket that accepts both.
    public static func isIPv4Mapped(_ bytes: [UInt8]) -> Bool {
        bytes.count == 16 && bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
    }
}
