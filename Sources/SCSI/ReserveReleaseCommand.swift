/// SPC-2 7.21 RESERVE(6)/(10) and 7.17 RELEASE(6)/(10): a logical unit reservation held by one
/// I_T nexus until it releases it, the nexus is lost, or a LOGICAL UNIT RESET / target reset.
/// Third-party reservations are not supported. While a persistent reservation exists, the
/// SPC-3 5.6.3 exceptions (REPORT CAPABILITIES CRH=1) apply: a holder's RESERVE or RELEASE
/// succeeds without effect, anyone else's conflicts.
enum ReserveReleaseCommand {
    enum Form: Sendable { case six, ten }

    static func reserve(_ cdb: CDB, form: Form, state: inout LogicalUnitState, nexus: NexusIdentity) -> SCSIAction {
        if form == .ten, let sense = checkThirdParty(cdb) { return .checkCondition(sense) }
        if state.persistentReservations.reservation != nil {
            return state.persistentReservations.isHolder(nexus) ? .good : .reservationConflict
        }
        if let holder = state.reservationHolder, holder != nexus { return .reservationConflict }
        state.reservationHolder = nexus
        return .good
    }

    static func release(_ cdb: CDB, form: Form, state: inout LogicalUnitState, nexus: NexusIdentity) -> SCSIAction {
        if form == .ten, let sense = checkThirdParty(cdb) { return .checkCondition(sense) }
        if state.persistentReservations.reservation != nil {
            return state.persistentReservations.isHolder(nexus) ? .good : .reservationConflict
        }
        // A RELEASE from a nexus that holds no reservation succeeds and changes nothing.
        if state.reservationHolder == nexus { state.reservationHolder = nil }
        return .good
    }

    /// RESERVE(10)/RELEASE(10) byte 1: 3RDPTY (bit 4) and LONGID (bit 1) are not supported.
    static func checkThirdParty(_ cdb: CDB) -> SenseData? {
        if cdb[1] & 0x10 != 0 { return .invalidFieldInCDB(byte: 1, bit: 4) }
        if cdb[1] & 0x02 != 0 { return .invalidFieldInCDB(byte: 1, bit: 1) }
        return nil
    }
}
