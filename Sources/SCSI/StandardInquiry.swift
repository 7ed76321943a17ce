/// SPC-4 6.6.2 standard INQUIRY data for the direct-access LU (96 bytes).
enum StandardInquiry {
    /// Peripheral qualifier 000b (connected), device type 00h (direct access block device).
    static let peripheral: UInt8 = 0x00
    /// Peripheral qualifier 011b (not capable of supporting a device here), type 1Fh.
    static let missingLUNPeripheral: UInt8 = 0x7F

    /// Version descriptors (SPC-4 table 146): SAM-5, iSCSI, SPC-4, SBC-3 (libiscsi derives
    /// its "SBC-3 supported" flag from 0x04C0, which turns on the SBC-3 tests).
    static let versionDescriptors: [UInt16] = [0x00A0, 0x0960, 0x0460, 0x04C0]

    static func data(lu: LogicalUnitInfo) -> [UInt8] {
        var out = header(peripheral: peripheral, alua: true)
        // TPGS=11b where gateways share the LU: SET TARGET PORT GROUPS moves it explicitly too.
        if !lu.portGroups.isEmpty { out[5] |= 0x20 }
        out.appendASCII(lu.vendor, width: 8)     // bytes 8-15
        out.appendASCII(lu.product, width: 16)   // bytes 16-31
        out.appendASCII(lu.revision, width: 4)   // bytes 32-35
        out.appendZeros(20)                      // bytes 36-55 vendor specific
        out.append(0)                            // byte 56: CLOCKING, QAS, IUS
        out.append(0)                            // byte 57 reserved
        for descriptor in versionDescriptors {   // bytes 58-73
            out.appendBE16(descriptor)
        }
        out.appendZeros(2 * (8 - versionDescriptors.count))
        out.appendZeros(22)                      // bytes 74-95 reserved
        out[4] = UInt8(out.count - 5)            // ADDITIONAL LENGTH
        return out
    }

    /// Standard data for an incorrect LUN: 36 bytes, blank identification.
    static func missingLUNData() -> [UInt8] {
        var out = header(peripheral: missingLUNPeripheral, alua: false)
        out.appendASCII("", width: 28)
        out[4] = UInt8(out.count - 5)
        return out
    }

    /// Bytes 0-7.
    private static func header(peripheral: UInt8, alua: Bool) -> [UInt8] {
        [
            peripheral,
            0x00,  // RMB=0: not removable; LU_CONG=0
            0x06,  // VERSION: SPC-4
            0x12,  // NORMACA=0, HISUP=1, RESPONSE DATA FORMAT=2
            0x00,  // ADDITIONAL LENGTH, filled in by the caller
            // SCCS, ACC, TPGS=01b (implicit ALUA: REPORT TARGET PORT GROUPS), 3PC=1 (EXTENDED
            // COPY), PROTECT=0; a missing LUN claims none of them.
            alua ? 0x18 : 0x00,
            0x00,  // ENCSERV, MULTIP, ADDR16
            0x02,  // CMDQUE=1
        ]
    }
}
