/// SPC-4 6.39 REQUEST SENSE. Targe reports sense with the CHECK CONDITION itself
/// (autosense), so the only pending sense is a unit attention (returned and cleared, SPC-4
/// 5.14), a running sanitize's progress, or the stopped state; otherwise NO SENSE.
enum RequestSenseCommand {
    static func decode(_ cdb: CDB, state: inout LogicalUnitState, nexus: NexusIdentity) -> SCSIAction {
        // SBC-4 4.11.3: the progress of a running sanitize, however often it is asked.
        if case .running(let progress) = state.sanitize {
            return respond(cdb, with: .sanitizeInProgress(progress))
        }
        if let unitAttention = state.nexuses.takeUnitAttention(for: nexus) {
            return respond(cdb, with: unitAttention)
        }
        if state.backingNotReady { return respond(cdb, with: .notReadyBecomingReady) }
        return respond(cdb, with: state.stopped ? .notReadyInitializingCommandRequired : .noSense)
    }

    /// Returns `sense` as parameter data with GOOD status, in descriptor format when DESC=1.
    static func respond(_ cdb: CDB, with sense: SenseData) -> SCSIAction {
        let descriptor = cdb[1] & 0x01 != 0
        let allocationLength = Int(cdb[4])
        return .dataIn(sense.bytes(descriptorFormat: descriptor).truncated(to: allocationLength))
    }
}
