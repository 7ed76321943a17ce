/// ORWRITE (16), SBC-4 5.8: the Data-Out is ORed into the blocks on the medium. The transport
/// reads, ORs and writes with the range held exclusively (as for COMPARE AND WRITE), so a
/// concurrent write cannot fall between the read and the write and be lost.
enum OrWriteCommand {
    static func decode(_ cdb: CDB, lu: LogicalUnitInfo, state: LogicalUnitState) -> SCSIAction {
        let flags = cdb[1]
        if flags & 0xE0 != 0 { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 7)) }  // ORPROTECT
        let lba = cdb.u64(at: 2)
        let blocks = cdb.u32(at: 10)
        if lu.maxTransferBlocks != 0 && blocks > lu.maxTransferBlocks {
            return .checkCondition(.invalidFieldInCDB(byte: 10))
        }
        guard BlockCommand.inRange(lba: lba, blocks: blocks, blockCount: lu.blockCount) else {
            return .checkCondition(.lbaOutOfRange)
        }
        if lu.readOnly { return .checkCondition(.writeProtected) }
        if state.softwareWriteProtect { return .checkCondition(.softwareWriteProtected) }
        if blocks == 0 { return .good }
        return .orWrite(lba: lba, blocks: blocks, fua: flags & 0x08 != 0 || state.writeThroughForced(lu))
    }
}
