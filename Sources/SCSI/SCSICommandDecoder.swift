/// Decodes and validates CDBs for a direct-access (SBC-4) logical unit. Pure: it never
/// touches storage; it tells the transport what to do (`SCSIAction`).
public enum SCSICommandDecoder {
    /// Decodes one CDB addressed to an existing LU.
    ///
    /// Order of checks: a pending unit attention of the I_T nexus (reported, and cleared, for
    /// every command but INQUIRY, REPORT LUNS and REQUEST SENSE: SPC-4 5.14), operation code
    /// (and service action), CONTROL byte, reservations (RESERVATION CONFLICT), unit
    /// readiness, then the command's own fields (see each command's file). The first command
    /// of a nexus the LU has not seen yet finds POWER ON, RESET, OR BUS DEVICE RESET OCCURRED
    /// pending (I_T NEXUS LOSS OCCURRED if the nexus was lost earlier).
    public static func decode(_ cdb: CDB, lu: LogicalUnitInfo, state: inout LogicalUnitState,
                              context: CommandContext) -> SCSIAction {
        // SBC-4 4.11.3: while a sanitize runs, everything but INQUIRY, REPORT LUNS and REQUEST
        // SENSE ends NOT READY with its progress, ahead of unit attentions (which wait).
        if case .running(let progress) = state.sanitize, !unitAttentionExemptOpcodes.contains(cdb.opcode) {
            return .checkCondition(.sanitizeInProgress(progress))
        }
        let reportsUnitAttention = !unitAttentionExemptOpcodes.contains(cdb.opcode)
        if let unitAttention = state.nexuses.admit(context.nexus, deliver: reportsUnitAttention) {
            return .checkCondition(unitAttention)
        }
        let descriptor: CommandDescriptor
        switch lookup(cdb, lu: lu) {
        case .success(let found): descriptor = found
        case .failure(let sense): return .checkCondition(sense)
        }
        if let sense = checkControlByte(cdb, length: descriptor.cdbLength) {
            return .checkCondition(sense)
        }
        if let sense = state.alua.refuses(cdb) {
            return .checkCondition(sense)
        }
        if state.conflicts(cdb, descriptor.reservation, from: context.nexus) {
            return .reservationConflict
        }
        if descriptor.readiness == .needsStartedUnit && state.backingNotReady {
            return .checkCondition(.notReadyBecomingReady)
        }
        if descriptor.readiness == .needsStartedUnit && state.stopped {
            return .checkCondition(.notReadyInitializingCommandRequired)
        }
        // SBC-4 4.11.4: after a failed sanitize the medium is refused until one succeeds or
        // EXIT FAILURE MODE.
        if state.sanitize == .failed && descriptor.readiness == .needsStartedUnit && cdb.opcode != SanitizeCommand.opcode {
            return .checkCondition(.sanitizeCommandFailed)
        }
        return descriptor.handler(cdb, lu, &state, context)
    }

    /// Second phase of a command whose `decode` returned `.parameterData(length:)`: `parameters`
    /// is the Data-Out that arrived (at most `length` bytes; fewer when the expected data
    /// transfer length was shorter). Reservations are checked again, since other commands may
    /// have run in between; the result is `.good`, `.checkCondition`, `.reservationConflict` or
    /// `.abortTasks`.
    public static func complete(_ cdb: CDB, parameters: [UInt8], lu: LogicalUnitInfo,
                                state: inout LogicalUnitState, context: CommandContext) -> SCSIAction {
        guard case .success(let descriptor) = lookup(cdb, lu: lu), let completion = descriptor.completion else {
            // Not a command that asks for a parameter list: the transport should not be here.
            return .checkCondition(.invalidOpcode)
        }
        // A sanitize that started while the parameter list was on its way wins (SBC-4 4.11.3).
        if case .running(let progress) = state.sanitize { return .checkCondition(.sanitizeInProgress(progress)) }
        if state.conflicts(cdb, descriptor.reservation, from: context.nexus) {
            return .reservationConflict
        }
        return completion(cdb, parameters, lu, &state, context)
    }

    /// Decodes a CDB addressed to a LUN that does not exist for this I_T nexus (SPC-4 4.6.2
    /// and SAM-5 5.x "incorrect logical unit"): INQUIRY answers with peripheral qualifier 3 /
    /// device type 0x1F, REPORT LUNS works as for any LUN, REQUEST SENSE returns LOGICAL UNIT
    /// NOT SUPPORTED as sense data with GOOD status, and everything else fails with
    /// CHECK CONDITION, ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (25/00).
    public static func decodeForMissingLUN(_ cdb: CDB, context: CommandContext) -> SCSIAction {
        guard missingLUNOpcodes.contains(cdb.opcode), case .success(let descriptor) = lookup(cdb) else {
            return .checkCondition(.lunNotSupported)
        }
        if let sense = checkControlByte(cdb, length: descriptor.cdbLength) {
            return .checkCondition(sense)
        }
        switch cdb.opcode {
        case 0x12: return InquiryCommand.decodeForMissingLUN(cdb)
        case 0x03: return RequestSenseCommand.respond(cdb, with: .lunNotSupported)
        default: return ReportLUNsCommand.decode(cdb, context: context)
        }
    }

    /// INQUIRY, REQUEST SENSE and REPORT LUNS: the commands an incorrect LUN still answers.
    static let missingLUNOpcodes: Set<UInt8> = [0x12, 0x03, 0xA0]

    /// INQUIRY, REQUEST SENSE and REPORT LUNS: the commands a pending unit attention does not
    /// stop (REQUEST SENSE returns it as its data).
    static let unitAttentionExemptOpcodes: Set<UInt8> = [0x12, 0x03, 0xA0]

    /// Finds the table row for the CDB's opcode and, where it has them, service action; a row
    /// the LU does not offer is answered as a missing one.
    static func lookup(_ cdb: CDB, lu: LogicalUnitInfo? = nil) -> Result<CommandDescriptor, SenseData> {
        switch CommandTable.byOpcode[Int(cdb.opcode)] {
        case .unsupported:
            return .failure(.invalidOpcode)
        case .command(let descriptor):
            if let lu, !descriptor.isAvailable(lu) { return .failure(.invalidOpcode) }
            return .success(descriptor)
        case .serviceActions(let actions):
            guard let descriptor = actions[cdb[1] & 0x1F], lu.map(descriptor.isAvailable) ?? true else {
                return .failure(.invalidFieldInCDB(byte: 1, bit: 4))
            }
            return .success(descriptor)
        }
    }

    /// SAM-5 5.2: NACA=1 (byte bit 2) is not supported, and LINK (bit 0) is obsolete; either
    /// fails with INVALID FIELD IN CDB pointing at the CONTROL byte.
    static func checkControlByte(_ cdb: CDB, length: Int) -> SenseData? {
        let control = cdb[length - 1]
        if control & 0x04 != 0 { return .invalidFieldInCDB(byte: length - 1, bit: 2) }
        if control & 0x01 != 0 { return .invalidFieldInCDB(byte: length - 1, bit: 0) }
        return nil
    }
}
