/// SPC-4 6.6 INQUIRY: standard data or a vital product data page.
enum InquiryCommand {
    static func decode(_ cdb: CDB, lu: LogicalUnitInfo, state: LogicalUnitState,
                       context: CommandContext) -> SCSIAction {
        let evpd = cdb[1] & 0x01 != 0
        let pageCode = cdb[2]
        let allocationLength = Int(cdb.u16(at: 3))
        if cdb[1] & 0x02 != 0 { // CMDDT, obsolete since SPC-3
            return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 1))
        }
        guard evpd else {
            if pageCode != 0 { return .checkCondition(.invalidFieldInCDB(byte: 2)) }
            return .dataIn(StandardInquiry.data(lu: lu).truncated(to: allocationLength))
        }
        guard let page = VPDPages.page(pageCode) else {
            return .checkCondition(.invalidFieldInCDB(byte: 2))
        }
        return .dataIn(page.data(lu: lu, context: context).truncated(to: allocationLength))
    }

    /// INQUIRY to a LUN that does not exist: peripheral qualifier 011b, device type 1Fh.
    static func decodeForMissingLUN(_ cdb: CDB) -> SCSIAction {
        let evpd = cdb[1] & 0x01 != 0
        let pageCode = cdb[2]
        let allocationLength = Int(cdb.u16(at: 3))
        if cdb[1] & 0x02 != 0 { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 1)) }
        if !evpd {
            if pageCode != 0 { return .checkCondition(.invalidFieldInCDB(byte: 2)) }
            return .dataIn(StandardInquiry.missingLUNData().truncated(to: allocationLength))
        }
        // Only the (empty) list of supported pages.
        if pageCode != 0x00 { return .checkCondition(.invalidFieldInCDB(byte: 2)) }
        return .dataIn([StandardInquiry.missingLUNPeripheral, 0x00, 0x00, 0x00].truncated(to: allocationLength))
    }
}
