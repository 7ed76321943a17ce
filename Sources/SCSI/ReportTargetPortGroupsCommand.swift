/// SPC-4 6.36 REPORT TARGET PORT GROUPS (MAINTENANCE IN, service action 0Ah) for implicit
/// ALUA (standard INQUIRY TPGS=01b): one target port group, active/optimized, holding the LU's
/// target port; the same group and relative port VPD page 83h names.
enum ReportTargetPortGroupsCommand {
    static func decode(_ cdb: CDB, lu: LogicalUnitInfo) -> SCSIAction {
        let format = cdb[1] >> 5
        let allocationLength = Int(cdb.u32(at: 6))
        var out: [UInt8] = [0, 0, 0, 0]  // RETURN DATA LENGTH
        switch format {
        case 0b000:
            break
        case 0b001:
            out += [0x10, 0, 0, 0]  // FORMAT TYPE 001b, IMPLICIT TRANSITION TIME 0
        default:
            return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 7))
        }
        out.append(0x80 | 0x00)                 // PREF=1, ASYMMETRIC ACCESS STATE 0h (active/optimized)
        out.append(0x01)                        // supported states: AO_SUP only
        out.appendBE16(lu.targetPortGroup)
        out.append(0)
        out.append(0x00)                        // STATUS CODE: no status available
        out.append(0)                           // vendor specific
        out.append(1)                           // TARGET PORT COUNT
        out.appendBE16(0)
        out.appendBE16(lu.relativeTargetPort)   // RELATIVE TARGET PORT IDENTIFIER
        out.putBE32(UInt32(out.count - 4), at: 0)
        return .dataIn(out.truncated(to: allocationLength))
    }
}
