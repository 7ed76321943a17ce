/// SAM-5 4.7 LUN representation: the 8-byte field in iSCSI PDUs and REPORT LUNS data,
/// as a big-endian UInt64 (byte 0 in the top bits).
public enum LUNEncoding {
    /// Single-level encoding: peripheral device addressing for LUNs below 256, flat space
    /// (0x40) below 16384, extended flat space (0xD2) below 2^24, and long extended flat
    /// space (0xE2) for anything up to 2^40 - 1 (higher bits are dropped).
    public static func encode(_ lun: UInt64) -> UInt64 {
        switch lun {
        case 0..<0x100:
            return lun << 48
        case 0x100..<0x4000:
            return (0x4000 | lun) << 48
        case 0x4000..<0x100_0000:
            return (0xD2 << 56) | (lun << 32)
        default:
            return (0xE2 << 56) | ((lun & 0xFF_FFFF_FFFF) << 16)
        }
    }

    /// Decodes a single-level LUN in any of the forms `encode` produces (peripheral
    /// addressing only with bus 0). Multi-level, logical-unit-addressed and well-known
    /// LUNs, and non-zero trailing levels, give nil.
    public static func decode(_ raw: UInt64) -> UInt64? {
        let byte0 = UInt8(truncatingIfNeeded: raw >> 56)
        switch byte0 >> 6 {
        case 0b00: // peripheral device addressing, bus identifier in bits 5-0
            guard byte0 == 0, raw & 0x0000_FFFF_FFFF_FFFF == 0 else { return nil }
            return (raw >> 48) & 0xFF
        case 0b01: // flat space addressing
            guard raw & 0x0000_FFFF_FFFF_FFFF == 0 else { return nil }
            return (raw >> 48) & 0x3FFF
        case 0b11: // extended logical unit addressing
            switch byte0 {
            case 0xD2:
                guard raw & 0xFFFF_FFFF == 0 else { return nil }
                return (raw >> 32) & 0xFF_FFFF
            case 0xE2:
                guard raw & 0xFFFF == 0 else { return nil }
                return (raw >> 16) & 0xFF_FFFF_FFFF
            default:
                return nil
            }
        default:
            return nil
        }
    }
}
