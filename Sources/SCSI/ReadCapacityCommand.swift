/// SBC-4 5.16 READ CAPACITY (10) and 5.17 READ CAPACITY (16).
enum ReadCapacityCommand {
    static func decode10(_ cdb: CDB, lu: LogicalUnitInfo) -> SCSIAction {
        // PMI=0 with a non-zero LBA is an error in SBC-3 (both fields are obsolete in SBC-4).
        if cdb[8] & 0x01 == 0 && cdb.u32(at: 2) != 0 {
            return .checkCondition(.invalidFieldInCDB(byte: 2))
        }
        var out: [UInt8] = []
        out.reserveCapacity(8)
        // Capacities needing more than 32 bits report 0xFFFFFFFF: use READ CAPACITY (16).
        out.appendBE32(lu.lastLBA > 0xFFFF_FFFE ? 0xFFFF_FFFF : UInt32(lu.lastLBA))
        out.appendBE32(UInt32(truncatingIfNeeded: lu.blockSize))
        return .dataIn(out)
    }

    static func decode16(_ cdb: CDB, lu: LogicalUnitInfo) -> SCSIAction {
        if cdb[14] & 0x01 == 0 && cdb.u64(at: 2) != 0 {
            return .checkCondition(.invalidFieldInCDB(byte: 2))
        }
        let allocationLength = Int(cdb.u32(at: 10))
        var out: [UInt8] = []
        out.reserveCapacity(32)
        out.appendBE64(lu.lastLBA)                                   // 0-7: RETURNED LOGICAL BLOCK ADDRESS
        out.appendBE32(UInt32(truncatingIfNeeded: lu.blockSize))     // 8-11: LOGICAL BLOCK LENGTH
        out.append(0x10)                                             // 12: RC BASIS=01b, P_TYPE=0, PROT_EN=0
        out.append(lu.physicalBlocksPerLogicalExponent & 0x0F)       // 13: P_I_EXPONENT=0, LBPPBE
        out.append(lu.thinProvisioned ? 0xC0 : 0x00)                 // 14: LBPME, LBPRZ, LOWEST ALIGNED LBA
        out.append(0x00)                                             // 15: LOWEST ALIGNED LBA
        out.appendZeros(16)                                          // 16-31 reserved
        return .dataIn(out.truncated(to: allocationLength))
    }
}
