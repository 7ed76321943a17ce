/// SBC-4 5.25 START STOP UNIT for a non-removable LU.
enum StartStopUnitCommand {
    /// POWER CONDITION values that are accepted (and, the unit being virtual, change nothing):
    /// ACTIVE, IDLE, STANDBY, LU_CONTROL, FORCE_IDLE_0, FORCE_STANDBY_0.
    static let acceptedPowerConditions: Set<UInt8> = [0x1, 0x2, 0x3, 0x7, 0xA, 0xB]

    /// POWER CONDITION 0 (START_VALID): START=1 makes the unit ready, START=0 stops it (and,
    /// unless NO_FLUSH, writes the cache to the medium first: the action is then a whole-medium
    /// SYNCHRONIZE CACHE). There is no medium to eject, but LOEJ=1 with START=0 (an eject) still
    /// fails with MEDIUM REMOVAL PREVENTED while an I_T nexus prevents removal (SBC-4 5.25);
    /// IMMED is irrelevant because the state change is immediate.
    static func decode(_ cdb: CDB, state: inout LogicalUnitState) -> SCSIAction {
        let powerCondition = cdb[4] >> 4
        let noFlush = cdb[4] & 0x04 != 0
        let start = cdb[4] & 0x01 != 0
        if powerCondition != 0 {
            guard acceptedPowerConditions.contains(powerCondition) else {
                return .checkCondition(.invalidFieldInCDB(byte: 4, bit: 7))
            }
            return .good
        }
        if start {
            state.stopped = false
            return .good
        }
        if cdb[4] & 0x02 != 0 && state.mediumRemovalPrevented {
            return .checkCondition(.mediumRemovalPrevented)
        }
        state.stopped = true
        return noFlush ? .good : .synchronizeCache(lba: 0, blocks: 0)
    }
}
