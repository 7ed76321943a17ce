/// SPC-4 6.11 MODE SENSE (6) and 6.12 MODE SENSE (10) for a direct-access LU.
enum ModeSenseCommand {
    enum Form: Sendable {
        case six, ten
    }

    static func decode(_ cdb: CDB, form: Form, lu: LogicalUnitInfo, state: LogicalUnitState) -> SCSIAction {
        let disableBlockDescriptors = cdb[1] & 0x08 != 0
        let longLBA = form == .ten && cdb[1] & 0x10 != 0
        let pageCode = cdb[2] & 0x3F
        let subpageCode = cdb[3]
        let allocationLength = form == .six ? Int(cdb[4]) : Int(cdb.u16(at: 7))

        guard let control = ModePage.Control(rawValue: cdb[2] >> 6), control != .saved else {
            return .checkCondition(.savingParametersNotSupported)
        }
        // Only subpage 00h exists, so "all subpages" (FFh) returns the same pages.
        guard subpageCode == 0x00 || subpageCode == 0xFF else {
            return .checkCondition(.invalidFieldInCDB(byte: 3))
        }
        let pages: [ModePage]
        if pageCode == 0x3F {
            pages = ModePages.all
        } else if let page = ModePages.page(pageCode) {
            pages = [page]
        } else {
            return .checkCondition(.invalidFieldInCDB(byte: 2, bit: 5))
        }

        var blockDescriptor: [UInt8] = []
        if !disableBlockDescriptors {
            blockDescriptor = control == .changeable
                ? [UInt8](repeating: 0, count: longLBA ? 16 : 8)
                : Self.blockDescriptor(lu: lu, long: longLBA)
        }
        // Device-specific parameter (SBC-4 6.5.1): WP (read-only LU, or SWP set in the control
        // page: SPC-4 7.5.8), DPOFUA (DPO and FUA are accepted).
        let writeProtected = lu.readOnly || (control == .current && state.softwareWriteProtect)
        let deviceSpecific: UInt8 = (writeProtected ? 0x80 : 0x00) | 0x10

        var out: [UInt8]
        switch form {
        case .six:
            out = [0, 0x00, deviceSpecific, UInt8(blockDescriptor.count)]
        case .ten:
            out = [0, 0, 0x00, deviceSpecific, longLBA ? 0x01 : 0x00, 0]
            out.appendBE16(UInt16(blockDescriptor.count))
        }
        out += blockDescriptor
        for page in pages {
            out += page.data(control, lu: lu, state: state)
        }
        // MODE DATA LENGTH excludes itself.
        switch form {
        case .six: out[0] = UInt8(truncatingIfNeeded: out.count - 1)
        case .ten: out.putBE16(UInt16(truncatingIfNeeded: out.count - 2), at: 0)
        }
        return .dataIn(out.truncated(to: allocationLength))
    }

    /// SBC-4 6.5.2: short LBA descriptor (8 bytes, block count saturating at FFFFFFFFh) or,
    /// with LLBAA in MODE SENSE (10), the long LBA descriptor (16 bytes).
    static func blockDescriptor(lu: LogicalUnitInfo, long: Bool) -> [UInt8] {
        var out: [UInt8] = []
        if long {
            out.appendBE64(lu.blockCount)
            out.appendBE32(0)
            out.appendBE32(UInt32(truncatingIfNeeded: lu.blockSize))
        } else {
            out.appendBE32(lu.blockCount > 0xFFFF_FFFF ? 0xFFFF_FFFF : UInt32(lu.blockCount))
            out.append(0)
            out.appendBE24(UInt32(truncatingIfNeeded: lu.blockSize))
        }
        return out
    }
}
