/// SBC-4 5.14 PREVENT ALLOW MEDIUM REMOVAL. The LU is not removable (RMB=0), so the only
/// effect is on START STOP UNIT with LOEJ=1, which fails with MEDIUM REMOVAL PREVENTED while
/// any I_T nexus prevents removal. Kept per nexus; cleared by that nexus's loss and by resets.
enum PreventAllowCommand {
    static func decode(_ cdb: CDB, state: inout LogicalUnitState, nexus: NexusIdentity) -> SCSIAction {
        switch cdb[4] & 0x03 {
        case 0b00: state.nexuses.setPreventsRemoval(false, for: nexus)
        case 0b01: state.nexuses.setPreventsRemoval(true, for: nexus)
        default: break  // 10b and 11b are obsolete (medium changers): no effect
        }
        return .good
    }
}
