/// SPC-4 6.36 REPORT TARGET PORT GROUPS (MAINTENANCE IN, service action 0Ah), for implicit
/// ALUA (standard INQUIRY TPGS=01b). A plain LU has one group, active/optimized, holding its
/// one target port. An LU that several gateways serve lists one group per gateway, each with
/// its one port: this port's group in the state the LU is in here, the lock holder's
/// active/optimized, the rest standby. The same group and relative port ids are in VPD 83h.
enum ReportTargetPortGroupsCommand {
    static func decode(_ cdb: CDB, lu: LogicalUnitInfo, view: ALUAView) -> SCSIAction {
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
        let groups = lu.portGroups.isEmpty
            ? [TargetPortGroup(id: lu.targetPortGroup, relativePort: lu.relativeTargetPort, name: "")]
            : lu.portGroups
        // A sole group only ever serves; shared groups can be standby (and unavailable while
        // their gateway cannot reach the image).
        let supported: UInt8 = lu.portGroups.isEmpty ? 0x01 : 0x01 | 0x04 | 0x08  // AO_SUP, S_SUP, U_SUP
        for group in groups {
            let state = lu.portGroups.isEmpty ? ALUAAccessState.activeOptimized
                : view.state(of: group.id, localGroup: lu.targetPortGroup)
            // PREF marks the group to prefer: the one serving now.
            out.append((state == .activeOptimized ? 0x80 : 0x00) | state.rawValue)
            out.append(supported)
            out.appendBE16(group.id)
            out.append(0)
            out.append(0x00)                    // STATUS CODE: no status available
            out.append(0)                       // vendor specific
            out.append(1)                       // TARGET PORT COUNT
            out.appendBE16(0)
            out.appendBE16(group.relativePort)  // RELATIVE TARGET PORT IDENTIFIER
        }
        out.putBE32(UInt32(out.count - 4), at: 0)
        return .dataIn(out.truncated(to: allocationLength))
    }
}
