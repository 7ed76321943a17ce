/// WRITE SAME (10) and (16), SBC-4 5.52-5.53: one block of Data-Out written to every block of
/// a range. With UNMAP=1 on a thin LU the range is deallocated instead, whatever the block
/// holds (as Linux LIO does, and as initiators that zero with WRITE SAME + UNMAP expect: it
/// then reads as zeros, LBPRZ); on a fully provisioned LU (VPD B2: LBPWS=LBPWS10=0) UNMAP=1 is refused
/// as an invalid field (an initiator that gets GOOD for it concludes unmapping works). ANCHOR
/// is refused (ANC_SUP=0). NDOB (16 only) writes zeros without a Data-Out buffer. A NUMBER OF
/// LOGICAL BLOCKS of zero means "to the end of the medium" (WSNZ=0), within
/// `maximumBlocks` (VPD B0 MAXIMUM WRITE SAME LENGTH), which bounds the work one command does.
enum WriteSameCommand {
    enum Form { case ten, sixteen }

    /// 32 MiB of 512-byte blocks (256 MiB of 4 KiB ones) per command: what the largest
    /// two-byte count of WRITE SAME(10) reaches, so (10) and (16) share one limit.
    static let maximumBlocks: UInt64 = 0xFFFF

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
        let unmap = flags & 0x08 != 0
        if unmap && !lu.thinProvisioned { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 3)) }
        let noDataOut = form == .sixteen && flags & 0x01 != 0
        return .writeSame(lba: lba, blocks: UInt32(blocks), zeros: noDataOut, unmap: unmap)
    }
}
