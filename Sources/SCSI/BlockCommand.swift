/// SBC-4 medium-access commands: READ, WRITE, WRITE AND VERIFY, VERIFY, SYNCHRONIZE CACHE and
/// PRE-FETCH in their 6/10/12/16-byte forms, decoded from `BlockCommandLayout` rows.
///
/// PRE-FETCH (10/16) is range-checked like a read and then completes with `.good` at once:
/// the storage engines have no cache worth warming, and SBC-4 allows GOOD (rather than
/// CONDITION MET) when the blocks are not going to be held.
enum BlockCommand {
    /// Checks, in order: protection field (no protection information: must be zero),
    /// BYTCHK (only 00b and 01b), transfer length against VPD B0 MAXIMUM TRANSFER LENGTH,
    /// LBA range against the capacity, then write protection (read-only LU, then the control
    /// page's SWP). While MODE SELECT has turned the write cache of a write-back LU off, writes
    /// carry FUA so that they are durable before GOOD.
    static func decode(_ cdb: CDB, layout: BlockCommandLayout, lu: LogicalUnitInfo,
                       state: LogicalUnitState) -> SCSIAction {
        let lba: UInt64
        let blocks: UInt32
        switch layout.form {
        case .six:
            lba = UInt64(cdb.u24(at: 1) & 0x1F_FFFF)
            blocks = cdb[4] == 0 ? 256 : UInt32(cdb[4])
        case .long(let lbaOffset, let lbaBytes, let lengthOffset, let lengthBytes):
            lba = lbaBytes == 8 ? cdb.u64(at: lbaOffset) : UInt64(cdb.u32(at: lbaOffset))
            blocks = lengthBytes == 4 ? cdb.u32(at: lengthOffset) : UInt32(cdb.u16(at: lengthOffset))
        }
        let flags = cdb[1]

        // No protection information is supported (INQUIRY PROTECT=0): SBC-4 4.22.
        if layout.hasProtectField && flags & 0xE0 != 0 {
            return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 7))
        }
        let byteCheck = (flags >> 1) & 0x03
        if layout.hasByteCheck && byteCheck > 1 {
            // 10b is reserved; 11b (one block compared with every block) is not supported.
            return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 2))
        }
        let transfers = layout.operation != .synchronizeCache && layout.operation != .preFetch
        if transfers && lu.maxTransferBlocks != 0 && blocks > lu.maxTransferBlocks {
            return .checkCondition(.invalidFieldInCDB(byte: layout.lengthOffset))
        }
        if !inRange(lba: lba, blocks: blocks, blockCount: lu.blockCount) {
            return .checkCondition(.lbaOutOfRange)
        }
        let fua = layout.hasFUA && flags & 0x08 != 0
        let writeProtection: SenseData? = lu.readOnly ? .writeProtected
            : state.softwareWriteProtect ? .softwareWriteProtected : nil

        switch layout.operation {
        case .read:
            return .read(lba: lba, blocks: blocks, fua: fua)
        case .write:
            if let writeProtection { return .checkCondition(writeProtection) }
            return .write(lba: lba, blocks: blocks, fua: fua || state.writeThroughForced(lu))
        case .writeAndVerify:
            if let writeProtection { return .checkCondition(writeProtection) }
            return .writeAndVerify(lba: lba, blocks: blocks, byteCheck: byteCheck == 1)
        case .verify:
            return .verify(lba: lba, blocks: blocks, byteCheck: byteCheck == 1)
        case .synchronizeCache:
            return .synchronizeCache(lba: lba, blocks: blocks)
        case .preFetch:
            return .good
        }
    }

    /// SBC-4 4.5: the LBA must address the medium and the range must end within it, without
    /// UInt64 wrap-around. A zero length still needs an LBA on the medium (libiscsi
    /// *_0blocks tests); for SYNCHRONIZE CACHE zero means "to the end of the medium".
    static func inRange(lba: UInt64, blocks: UInt32, blockCount: UInt64) -> Bool {
        lba < blockCount && UInt64(blocks) <= blockCount - lba
    }
}
