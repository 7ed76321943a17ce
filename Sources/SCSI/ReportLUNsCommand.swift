/// SPC-4 6.33 REPORT LUNS.
enum ReportLUNsCommand {
    static func decode(_ cdb: CDB, context: CommandContext) -> SCSIAction {
        let selectReport = cdb[2]
        let allocationLength = Int(cdb.u32(at: 6))
        if allocationLength < 16 {
            return .checkCondition(.invalidFieldInCDB(byte: 6))
        }
        let luns: [UInt64]
        switch selectReport {
        case 0x00, 0x02: luns = unique(context.lunList) // all LUNs (no well-known LUs exist)
        case 0x01: luns = []                      // well-known LUs only: none
        default: return .checkCondition(.invalidFieldInCDB(byte: 2))
        }
        var out: [UInt8] = []
        out.reserveCapacity(8 + 8 * luns.count)
        out.appendBE32(UInt32(truncatingIfNeeded: 8 * luns.count)) // LUN LIST LENGTH
        out.appendBE32(0)
        for lun in luns {
            out.appendBE64(LUNEncoding.encode(lun))
        }
        return .dataIn(out.truncated(to: allocationLength))
    }

    /// The list without repeated LUNs, first occurrence kept (SAM-5: each LUN once).
    static func unique(_ luns: [UInt64]) -> [UInt64] {
        var seen = Set<UInt64>()
        return luns.filter { seen.insert($0).inserted }
    }
}
