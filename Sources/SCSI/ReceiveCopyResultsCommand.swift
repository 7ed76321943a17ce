/// RECEIVE COPY RESULTS (LID1), SPC-4 6.18: COPY STATUS of a list identifier of this I_T
/// nexus, and OPERATING PARAMETERS (the limits EXTENDED COPY holds lists to). RECEIVE DATA and
/// FAILED SEGMENT DETAILS are not implemented: no implemented segment type holds data, and a
/// failed segment is reported in the EXTENDED COPY status itself.
enum ReceiveCopyResultsCommand {
    enum ServiceAction: UInt8, CaseIterable {
        case copyStatus = 0x00
        case operatingParameters = 0x03

        var name: String {
            switch self {
            case .copyStatus: return "RECEIVE COPY STATUS(LID1)"
            case .operatingParameters: return "RECEIVE COPY OPERATING PARAMETERS"
            }
        }
    }

    static func decode(_ cdb: CDB, serviceAction: ServiceAction, lu: LogicalUnitInfo, state: LogicalUnitState,
                       context: CommandContext) -> SCSIAction {
        let allocation = Int(cdb.u32(at: 10))
        switch serviceAction {
        case .operatingParameters:
            if cdb[2] != 0 { return .checkCondition(.invalidFieldInCDB(byte: 2)) }
            return .dataIn(operatingParameters(lu).truncated(to: allocation))
        case .copyStatus:
            guard let status = state.copyManager.status(of: cdb[2], for: context.nexus) else {
                return .checkCondition(.invalidFieldInCDB(byte: 2))  // no such list for this nexus
            }
            return .dataIn(copyStatus(status).truncated(to: allocation))
        }
    }

    /// SPC-4 6.18.4, table 145.
    static func operatingParameters(_ lu: LogicalUnitInfo) -> [UInt8] {
        let codes = ExtendedCopyCommand.implementedDescriptorCodes
        var out: [UInt8] = []
        out.appendBE32(UInt32(40 + codes.count))                          // AVAILABLE DATA
        out.append(0x01)                                                  // 4: SNLID (LIST ID USAGE 11b)
        out.appendZeros(3)
        out.appendBE16(UInt16(ExtendedCopyCommand.maximumTargetDescriptors))   // 8-9
        out.appendBE16(UInt16(ExtendedCopyCommand.maximumSegmentDescriptors))  // 10-11
        out.appendBE32(UInt32(ExtendedCopyCommand.maximumDescriptorListLength)) // 12-15
        // 16-19 MAXIMUM SEGMENT LENGTH: a block-to-block segment moves at most 65535 blocks.
        out.appendBE32(UInt32(clamping: 0xFFFF * lu.blockSize))
        out.appendBE32(0)                                                 // 20-23: no inline data
        out.appendBE32(0)                                                 // 24-27: no held data
        out.appendBE32(0)                                                 // 28-31: no stream devices
        out.appendZeros(2)
        out.appendBE16(1)                                                 // 34-35: TOTAL CONCURRENT COPIES
        out.append(1)                                                     // 36: MAXIMUM CONCURRENT COPIES
        out.append(UInt8(lu.blockSize.trailingZeroBitCount))              // 37: DATA SEGMENT GRANULARITY (log2)
        out.append(0)                                                     // 38: INLINE DATA GRANULARITY
        out.append(0)                                                     // 39: HELD DATA GRANULARITY
        out.appendZeros(3)
        out.append(UInt8(codes.count))                                    // 43: IMPLEMENTED DESCRIPTOR LIST LENGTH
        out += codes
        return out
    }

    /// SPC-4 6.18.2, table 139: COPY MANAGER STATUS 00h done, 01h done with an error, 10h
    /// running in the foreground; the transfer count in bytes (or the smallest power-of-1024
    /// unit that fits 32 bits).
    static func copyStatus(_ status: CopyManagerState.Status) -> [UInt8] {
        var out: [UInt8] = []
        out.appendBE32(8)
        out.append(status.running ? 0x10 : (status.failed ? 0x01 : 0x00))
        out.appendBE16(status.segmentsProcessed)
        var count = status.bytesCopied
        var unit: UInt8 = 0
        while count > UInt64(UInt32.max) {
            count >>= 10
            unit += 1
        }
        out.append(unit)
        out.appendBE32(UInt32(count))
        return out
    }
}
