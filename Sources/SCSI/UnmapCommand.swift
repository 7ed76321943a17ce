/// UNMAP, SBC-4 5.31: a parameter list of block descriptors (LBA, count) to deallocate. Only a
/// thin-provisioned LU supports it (VPD B2 LBPU); the list is checked whole (lengths, ranges,
/// the VPD B0 limits) before anything is deallocated.
enum UnmapCommand {
    static let maximumBlocks: UInt32 = 1 << 20
    static let maximumDescriptors: UInt32 = 256

    static func decode(_ cdb: CDB, lu: LogicalUnitInfo, state: LogicalUnitState) -> SCSIAction {
        guard lu.thinProvisioned else { return .checkCondition(.invalidOpcode) }
        if cdb[1] & 0x01 != 0 { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 0)) }  // ANCHOR
        if lu.readOnly { return .checkCondition(.writeProtected) }
        if state.softwareWriteProtect { return .checkCondition(.softwareWriteProtected) }
        let length = Int(cdb.u16(at: 7))
        return length == 0 ? .good : .parameterData(length: length)
    }

    /// SBC-4 5.31.2: an 8-byte header (UNMAP DATA LENGTH, UNMAP BLOCK DESCRIPTOR DATA
    /// LENGTH), then 16-byte descriptors (LBA, NUMBER OF LOGICAL BLOCKS, reserved).
    static func complete(parameters: [UInt8], lu: LogicalUnitInfo) -> SCSIAction {
        guard parameters.count >= 8 else { return .checkCondition(.parameterListLengthError) }
        let descriptorLength = Int(parameters.be16(at: 2))
        guard descriptorLength <= parameters.count - 8 else { return .checkCondition(.parameterListLengthError) }
        let count = descriptorLength / 16
        guard count <= maximumDescriptors else { return .checkCondition(.invalidFieldInParameterList(byte: 2)) }
        var ranges: [BlockRange] = []
        var total: UInt64 = 0
        for i in 0..<count {
            let at = 8 + 16 * i
            let lba = parameters.be64(at: at)
            let blocks = parameters.be32(at: at + 8)
            guard BlockCommand.inRange(lba: lba, blocks: blocks, blockCount: lu.blockCount)
                    || (blocks == 0 && lba <= lu.blockCount) else {
                return .checkCondition(.lbaOutOfRange)
            }
            total += UInt64(blocks)
            if blocks > 0 { ranges.append(BlockRange(lba: lba, blocks: blocks)) }
        }
        guard total <= UInt64(maximumBlocks) else { return .checkCondition(.invalidFieldInParameterList(byte: 8 + 8)) }
        return ranges.isEmpty ? .good : .deallocate(ranges)
    }
}

/// GET LBA STATUS, SBC-4 5.8: whether the blocks from an LBA are mapped or deallocated, as one
/// descriptor covering the extent that shares the first block's state.
public enum GetLBAStatusCommand {
    static func decode(_ cdb: CDB, lu: LogicalUnitInfo) -> SCSIAction {
        guard lu.thinProvisioned else { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 4)) }
        let lba = cdb.u64(at: 2)
        let allocation = Int(cdb.u32(at: 10))
        guard lba < lu.blockCount else { return .checkCondition(.lbaOutOfRange) }
        if allocation == 0 { return .good }
        return .lbaStatus(lba: lba, allocation: allocation)
    }

    /// The parameter data: PARAMETER DATA LENGTH, then one 16-byte descriptor (LBA, EXTENT
    /// LENGTH, PROVISIONING STATUS 0 mapped / 1 deallocated), cut to the allocation length.
    public static func response(lba: UInt64, blocks: UInt32, deallocated: Bool, allocation: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.appendBE32(4 + 16)          // PARAMETER DATA LENGTH: what follows this field
        out.appendZeros(4)
        out.appendBE64(lba)
        out.appendBE32(blocks)
        out.append(deallocated ? 0x01 : 0x00)
        out.appendZeros(3)
        return out.truncated(to: allocation)
    }
}
