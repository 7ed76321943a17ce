/// The VPD pages the LU reports, in ascending page-code order (SPC-4 7.8.13 requires the
/// supported-pages list sorted; libiscsi checks it).
enum VPDPages {
    static let all: [VPDPage] = [
        VPDPage(code: 0x00, name: "Supported VPD Pages") { _, _ in all.map(\.code) },
        VPDPage(code: 0x80, name: "Unit Serial Number") { lu, _ in
            var out: [UInt8] = []
            out.appendASCII(lu.serial, width: lu.serial.utf8.count)
            return out
        },
        VPDPage(code: 0x83, name: "Device Identification") { lu, context in
            DeviceIdentification.designators(lu: lu, context: context)
        },
        VPDPage(code: 0x86, name: "Extended INQUIRY Data") { lu, _ in extendedInquiry(lu) },
        VPDPage(code: 0x8F, name: "Third-party Copy") { _, _ in thirdPartyCopy() },
        VPDPage(code: 0xB0, name: "Block Limits") { lu, _ in blockLimits(lu) },
        VPDPage(code: 0xB1, name: "Block Device Characteristics") { lu, _ in blockDeviceCharacteristics(lu) },
        VPDPage(code: 0xB2, name: "Logical Block Provisioning") { lu, _ in logicalBlockProvisioning(lu) },
    ]

    static func page(_ code: UInt8) -> VPDPage? {
        all.first { $0.code == code }
    }

    /// SPC-4 7.8.7, page length 0x3C.
    static func extendedInquiry(_ lu: LogicalUnitInfo) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 60)
        out[0] = 0x00                         // byte 4: ACTIVATE MICROCODE, SPT, GRD/APP/REF_CHK = 0
        out[1] = 0x01                         // byte 5: SIMPSUP (simple task attribute)
        out[2] = lu.writeCache ? 0x01 : 0x00  // byte 6: V_SUP (volatile cache present)
        out[3] = 0x01                         // byte 7: LUICLR (required by SPC-4)
        return out
    }

    /// SPC-4 7.8.17: one Supported Commands descriptor (0001h) listing EXTENDED COPY(LID1) and
    /// the RECEIVE COPY RESULTS service actions, padded to a multiple of 4 bytes.
    static func thirdPartyCopy() -> [UInt8] {
        var commands: [UInt8] = [0x83, 1, 0x00]
        let receive = ReceiveCopyResultsCommand.ServiceAction.allCases.map(\.rawValue)
        commands += [0x84, UInt8(receive.count)] + receive
        var body: [UInt8] = [UInt8(commands.count)] + commands
        while body.count % 4 != 0 { body.append(0) }
        var out: [UInt8] = []
        out.appendBE16(0x0001)
        out.appendBE16(UInt16(body.count))
        return out + body
    }

    /// SBC-4 6.6.4, page length 0x3C.
    static func blockLimits(_ lu: LogicalUnitInfo) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(60)
        out.append(0)                                          // byte 4: WSNZ=0
        out.append(CompareAndWriteCommand.maximumBlocks)       // byte 5: MAXIMUM COMPARE AND WRITE LENGTH
        out.appendBE16(UInt16(1) << UInt16(min(lu.physicalBlocksPerLogicalExponent, 15)))
                                                               // 6-7: OPTIMAL TRANSFER LENGTH GRANULARITY
        out.appendBE32(lu.maxTransferBlocks)                   // 8-11: MAXIMUM TRANSFER LENGTH
        out.appendBE32(lu.optimalTransferBlocks)               // 12-15: OPTIMAL TRANSFER LENGTH
        out.appendBE32(0)                                      // 16-19: MAXIMUM PREFETCH LENGTH
        let thin = lu.thinProvisioned
        out.appendBE32(thin ? UnmapCommand.maximumBlocks : 0)  // 20-23: MAXIMUM UNMAP LBA COUNT
        out.appendBE32(thin ? UnmapCommand.maximumDescriptors : 0) // 24-27: MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
        out.appendBE32(thin ? UInt32(max(1, 4096 / lu.blockSize)) : 0) // 28-31: OPTIMAL UNMAP GRANULARITY (a page)
        out.appendBE32(thin ? 0x8000_0000 : 0)                 // 32-35: UGAVALID, UNMAP GRANULARITY ALIGNMENT 0
        out.appendBE64(WriteSameCommand.maximumBlocks)         // 36-43: MAXIMUM WRITE SAME LENGTH
        out.appendZeros(20)                                    // 44-63: atomic write limits, reserved
        return out
    }

    /// SBC-4 6.6.2, page length 0x3C.
    static func blockDeviceCharacteristics(_ lu: LogicalUnitInfo) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(60)
        out.appendBE16(lu.rotationRate)          // 4-5: MEDIUM ROTATION RATE
        out.append(0)                            // 6: PRODUCT TYPE: not indicated
        // 7: WABEREQ 01b on a thin LU (after SANITIZE BLOCK ERASE reads succeed, returning
        // zeros: LBPRZ), WACEREQ 00b (no CRYPTO ERASE), NOMINAL FORM FACTOR.
        out.append((lu.thinProvisioned ? 0x40 : 0x00) | lu.nominalFormFactor & 0x0F)
        out.append(0)                            // 8: ZONED, FUAB, VBULS
        out.appendZeros(55)                      // 9-63
        return out
    }

    /// SBC-4 6.6.6, page length 4: fully provisioned, or thin with UNMAP, WRITE SAME (10/16)
    /// unmapping and deallocated blocks reading as zeros (LBPRZ=001b).
    static func logicalBlockProvisioning(_ lu: LogicalUnitInfo) -> [UInt8] {
        [
            0x00,                                  // byte 4: THRESHOLD EXPONENT
            lu.thinProvisioned ? 0xE4 : 0x00,      // byte 5: LBPU, LBPWS, LBPWS10, LBPRZ, ANC_SUP, DP
            lu.thinProvisioned ? 0x02 : 0x00,      // byte 6: MINIMUM PERCENTAGE, PROVISIONING TYPE (010b thin)
            0x00,                                  // byte 7: THRESHOLD PERCENTAGE
        ]
    }
}
