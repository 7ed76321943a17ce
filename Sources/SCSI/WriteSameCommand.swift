/// WRITE SAME (10) and (16), SBC-4 5.52-5.53: one block of Data-Out written to every block of
/// a range. The LU is fully provisioned (VPD B2: LBPWS=LBPWS10=0), so UNMAP=1 is refused as an
/// invalid field (an initiator that gets GOOD for it concludes unmapping works); ANCHOR is
/// refused too (ANC_SUP=0). NDOB (16 only) writes zeros without a Data-Out buffer. A NUMBER OF
/// LOGICAL BLOCKS of zero means "to the end of the medium" (WSNZ=0), within
/// `maximumBlocks` (VPD B0 MAXIMUM WRITE SAME LENGTH), which bounds the work one command does.
enum WriteSameCommand {
    enum Form { case ten, sixteen }

    /// 1 GiB of 512-byte blocks (or 8 GiB of 4 KiB ones) per command.
    static let maximumBlocks: UInt64 = 1 << 21

    static func decode(_ cdb: CDB, form: Form, lu: LogicalUnitInfo, state: LogicalUnitState) -> SCSIAction {
        let flags = cdb[1]
        let lba: UInt64
        let requested: UInt64
        switch form {
        case .ten:
            lba = UInt64(cdb.u32(at: 2))
            requested = UInt64(cdb.u16(at: 7))
        case .sixteen:
            lba = cdb.u64(at: 2)
            requested = UInt64(cdb.u32(at: 10))
        }
        if flags & 0xE0 != 0 { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 7)) }  // WRPROTECT
        if flags & 0x10 != 0 { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 4)) }  // ANCHOR
        guard lba < lu.blockCount else { return .checkCondition(.lbaOutOfRange) }
        let blocks = requested == 0 ? lu.blockCount - lba : requested
        guard blocks <= lu.blockCount - lba else { return .checkCondition(.lbaOutOfRange) }
        guard blocks <= maximumBlocks else {
            return .checkCondition(.invalidFieldInCDB(byte: form == .ten ? 7 : 10))
        }
        if lu.readOnly { return .checkCondition(.writeProtected) }
        if state.softwareWriteProtect { return .checkCondition(.softwareWriteProtected) }
        if flags & 0x08 != 0 { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 3)) }  // UNMAP
        let noDataOut = form == .sixteen && flags & 0x01 != 0
        return .writeSame(lba: lba, blocks: UInt32(blocks), zeros: noDataOut)
    }
}
