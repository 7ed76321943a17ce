/// A network in CIDR notation, IPv4 or IPv6. The address keeps the bytes as written (host
/// bits are not cleared) so a config renders back the way the operator wrote it; matching
/// only looks at the first `prefixLength` bits.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6).
    public var address: [UInt8]
    /// 0...32 for IPv4, 0...128 for IPv6.
    public var prefixLength: Int

    public init(address: [UInt8], prefixLength: Int) {
        precondition(address.count == 4 || address.count == 16, "CIDR address must be 4 or 16 bytes")
        precondition(prefixLength >= 0 && prefixLength <= address.count * 8, "CIDR prefix out of range")
        self.address = address
        self.prefixLength = prefixLength
    }

    /// "192.168.10.0/24", "fe80::/64", or a bare address meaning just that host (/32, /128).
    public static func parse(_ text: String) -> CIDR? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress.parse(String(parts[0])) else { return nil }
        var prefix = address.count * 8
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 3,
                  digits.allSatisfy({ $0 >= "0" && $0 <= "9" }),
                  let value = Int(digits), value <= prefix
            else { return nil }
            prefix = value
        }
        return CIDR(address: address, prefixLength: prefix)
    }

    public var isIPv4: Bool { address.count == 4 }

    /// Whether an address (4 or 16 bytes) lies in this network. IPv4-mapped IPv6 addresses
    /// (::ffff:a.b.c.d) count as their IPv4 address and the other way round, because a
    /// dual-stack listener reports IPv4 clients in that form and rules written as
    /// 192.168.0.0/16 must still apply to them.
    public func contains(_ addressBytes: [UInt8]) -> Bool {
        var candidate = addressBytes
        if address.count == 4 && candidate.count == 16 {
            guard IPAddress.isIPv4Mapped(candidate) else { return false }
            candidate = Array(candidate[12...])
        } else if address.count == 16 && candidate.count == 4 {
            candidate = Array(repeating: 0, count: 10) + [0xff, 0xff] + candidate
        }
        guard candidate.count == address.count else { return false }
        let fullBytes = prefixLength / 8
        guard candidate[0..<fullBytes] == address[0..<fullBytes] else { return false }
        let remainingBits = prefixLength % 8
        guard remainingBits > 0 else { return true }
        let mask = UInt8(truncatingIfNeeded: 0xff << (8 - remainingBits))
        return candidate[fullBytes] & mask == address[fullBytes] & mask
    }

    /// "10.0.0.0/8"; a single host prints without its prefix ("10.0.0.1"), as it is usually written.
    public var description: String {
        let text = IPAddress.format(address)
        return prefixLength == address.count * 8 ? text : "\(text)/\(prefixLength)"
    }
}
