/// Deterministic LU identities, so that serial numbers and NAA designators survive restarts
/// (initiators such as ESXi and multipath key on them).
extension LogicalUnitInfo {
    /// IEEE company identifier placed in the NAA designators. Targe has no registered OUI, so
    /// this is a locally administered value (0x02 bit of the first octet set): "\u{2}TG".
    public static let companyIdentifier: UInt32 = 0x02_5447

    /// Derives a unit serial number (16 upper-case hex digits) and a 16-byte NAA 6 (IEEE
    /// Registered Extended) designator from the target IQN and device name with FNV-1a 64.
    public static func stableIdentity(targetIQN: String, deviceName: String) -> (serial: String, naa: [UInt8]) {
        var key = Array(targetIQN.utf8)
        key.append(0) // separator: ("a", "bc") and ("ab", "c") differ
        key += deviceName.utf8
        let h1 = FNV1a64.hash(key)
        let h2 = FNV1a64.hash(key, seed: h1 ^ 0x5851_F42D_4C95_7F2D)

        // NAA 6: 4-bit NAA, 24-bit company id, 36-bit vendor specific id, 64-bit extension.
        let oui = UInt64(companyIdentifier & 0xFF_FFFF)
        let vendorSpecific = h1 >> 28 // 36 bits
        let high = (0x6 << 60) | (oui << 36) | vendorSpecific
        var naa: [UInt8] = []
        naa.reserveCapacity(16)
        naa.appendBE64(high)
        naa.appendBE64(h2)

        let digits = Array("0123456789ABCDEF")
        let serial = String((0..<16).map { digits[Int((h1 >> UInt64(60 - 4 * $0)) & 0xF)] })
        return (serial, naa)
    }
}

/// 64-bit FNV-1a (Fowler/Noll/Vo), a simple hash that is stable across runs and platforms.
enum FNV1a64 {
    static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    static func hash(_ bytes: [UInt8], seed: UInt64 = offsetBasis) -> UInt64 {
        var h = seed
        for byte in bytes {
            h ^= UInt64(byte)
            h = h &* prime
        }
        return h
    }
}
