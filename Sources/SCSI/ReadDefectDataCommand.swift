/// SBC-4 5.16 READ DEFECT DATA (10) and 5.17 READ DEFECT DATA (12): a virtual LU has no
/// defects, so both return an empty list in the format asked for, with PLISTV/GLISTV echoing
/// REQ_PLIST/REQ_GLIST (the lists are valid and empty).
enum ReadDefectDataCommand {
    enum Form: Sendable { case ten, twelve }

    static func decode(_ cdb: CDB, form: Form) -> SCSIAction {
        let flagsByte = form == .ten ? 2 : 1
        let flags = cdb[flagsByte] & 0x1F   // REQ_PLIST, REQ_GLIST, DEFECT LIST FORMAT
        if flags & 0x07 == 0b111 {          // reserved format
            return .checkCondition(.invalidFieldInCDB(byte: flagsByte, bit: 2))
        }
        switch form {
        case .ten:
            let allocationLength = Int(cdb.u16(at: 7))
            return .dataIn([0, flags, 0, 0].truncated(to: allocationLength))
        case .twelve:
            // Bytes 2-3: GENERATION CODE 0 (not reported); 4-7: DEFECT LIST LENGTH.
            let allocationLength = Int(cdb.u32(at: 6))
            return .dataIn([0, flags, 0, 0, 0, 0, 0, 0].truncated(to: allocationLength))
        }
    }
}
