/// SPC-4 6.39 REQUEST SENSE. Targe reports sense with the CHECK CONDITION itself
/// (autosense), so there is never pending sense: NO SENSE, or the stopped state.
enum RequestSenseCommand {
    static func decode(_ cdb: CDB, state: LogicalUnitState) -> SCSIAction {
        respond(cdb, with: state.stopped ? .notReadyInitializingCommandRequired : .noSense)
    }

    /// Returns `sense` as parameter data with GOOD status, in descriptor format when DESC=1.
    static func respond(_ cdb: CDB, with sense: SenseData) -> SCSIAction {
        let descriptor = cdb[1] & 0x01 != 0
        let allocationLength = Int(cdb[4])
        return .dataIn(sense.bytes(descriptorFormat: descriptor).truncated(to: allocationLength))
    }
}
