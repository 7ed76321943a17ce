/// COMPARE AND WRITE, SBC-4 5.3: Data-Out of twice NUMBER OF LOGICAL BLOCKS blocks, the verify
/// data then the write data. The transport reads the range, compares it with the verify data
/// (MISCOMPARE with the offset of the first difference) and writes the write data, all while
/// holding the range against every other write to it, so that the three steps are atomic.
enum CompareAndWriteCommand {
    /// VPD B0 MAXIMUM COMPARE AND WRITE LENGTH (blocks).
    static let maximumBlocks: UInt8 = 64

    static func decode(_ cdb: CDB, lu: LogicalUnitInfo, state: LogicalUnitState, context: CommandContext) -> SCSIAction {
        let flags = cdb[1]
        if flags & 0xE0 != 0 { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 7)) }  // WRPROTECT
        let lba = cdb.u64(at: 2)
        let blocks = cdb[13]
        if blocks > maximumBlocks { return .checkCondition(.invalidFieldInCDB(byte: 13)) }
        guard BlockCommand.inRange(lba: lba, blocks: UInt32(blocks), blockCount: lu.blockCount) else {
            return .checkCondition(.lbaOutOfRange)
        }
        if lu.readOnly { return .checkCondition(.writeProtected) }
        if state.softwareWriteProtect { return .checkCondition(.softwareWriteProtected) }
        if blocks == 0 {
            // SBC-4: zero blocks is not an error and moves nothing, unless the initiator means
            // to send data: 256 blocks does not fit the one-byte field and reads as zero.
            return context.expectedDataTransferLength > 0 ? .checkCondition(.invalidFieldInCDB(byte: 13)) : .good
        }
        let fua = flags & 0x08 != 0 || state.writeThroughForced(lu)
        return .compareAndWrite(lba: lba, blocks: UInt32(blocks), fua: fua)
    }
}
