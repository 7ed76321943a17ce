/// SANITIZE, SBC-4 5.30: OVERWRITE (a pattern over every block, OWCOUNT passes, INVERT
/// between passes) and, on a thin-provisioned LU, BLOCK ERASE (every block deallocated: it
/// reads as zeros, LBPRZ); EXIT FAILURE MODE. No CRYPTO ERASE: nothing is encrypted.
///
/// The decoder checks the CDB and the parameter list and marks the LU as sanitizing; the
/// transport runs the operation detached from the command (it survives task management,
/// resets and the loss of the session that started it) and reports progress to the LU state.
/// Meanwhile every command but INQUIRY, REPORT LUNS and REQUEST SENSE ends NOT READY,
/// SANITIZE IN PROGRESS, with the progress indication (`SCSICommandDecoder.decode`).
public enum SanitizeCommand {
    static let opcode: UInt8 = 0x48
    /// OVERWRITE parameter list header: byte 0 INVERT/TEST/OWCOUNT, 2-3 pattern length.
    static let overwriteHeaderLength = 4

    enum ServiceAction: UInt8, CaseIterable {
        case overwrite = 0x01
        case blockErase = 0x02
        case exitFailureMode = 0x1F

        var name: String {
            switch self {
            case .overwrite: return "SANITIZE OVERWRITE"
            case .blockErase: return "SANITIZE BLOCK ERASE"
            case .exitFailureMode: return "SANITIZE EXIT FAILURE MODE"
            }
        }

        /// BLOCK ERASE is deallocation: only a thin LU can do it.
        func isAvailable(_ lu: LogicalUnitInfo) -> Bool { self != .blockErase || lu.thinProvisioned }
    }

    static func decode(_ cdb: CDB, serviceAction: ServiceAction, lu: LogicalUnitInfo,
                       state: inout LogicalUnitState) -> SCSIAction {
        if cdb[1] & 0x40 != 0 { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 6)) }
        for byte in 2...6 where cdb[byte] != 0 { return .checkCondition(.invalidFieldInCDB(byte: byte)) }
        let immediate = cdb[1] & 0x80 != 0
        let length = Int(cdb.u16(at: 7))
        switch serviceAction {
        case .exitFailureMode:
            guard length == 0 else { return .checkCondition(.invalidFieldInCDB(byte: 7)) }
            if state.sanitize == .failed { state.sanitizeFinished(succeeded: true) }
            return .good
        case .blockErase:
            guard length == 0 else { return .checkCondition(.invalidFieldInCDB(byte: 7)) }
            if let refusal = writeRefusal(lu, state) { return .checkCondition(refusal) }
            state.sanitize = .running(progress: 0)
            return .sanitize(.blockErase, immediate: immediate)
        case .overwrite:
            guard length > overwriteHeaderLength, length <= overwriteHeaderLength + lu.blockSize else {
                return .checkCondition(.invalidFieldInCDB(byte: 7))
            }
            if let refusal = writeRefusal(lu, state) { return .checkCondition(refusal) }
            return .parameterData(length: length)
        }
    }

    /// OVERWRITE's parameter list (SBC-4 5.30.3): OWCOUNT passes of a pattern of 1 to
    /// block-length bytes; TEST must be 0.
    static func complete(_ cdb: CDB, parameters p: [UInt8], lu: LogicalUnitInfo,
                         state: inout LogicalUnitState) -> SCSIAction {
        guard p.count == Int(cdb.u16(at: 7)) else { return .checkCondition(.parameterListLengthError) }
        let passes = Int(p[0] & 0x1F)
        guard passes > 0 else { return .checkCondition(.invalidFieldInParameterList(byte: 0, bit: 4)) }
        guard p[0] & 0x60 == 0 else { return .checkCondition(.invalidFieldInParameterList(byte: 0, bit: 6)) }
        let patternLength = Int(p.be16(at: 2))
        guard patternLength > 0, patternLength <= lu.blockSize, patternLength <= p.count - overwriteHeaderLength else {
            return .checkCondition(.invalidFieldInParameterList(byte: 2))
        }
        if let refusal = writeRefusal(lu, state) { return .checkCondition(refusal) }
        if case .running = state.sanitize { return .checkCondition(.sanitizeInProgress(0)) }
        state.sanitize = .running(progress: 0)
        let pattern = Array(p[overwriteHeaderLength..<(overwriteHeaderLength + patternLength)])
        return .sanitize(.overwrite(pattern: pattern, invert: p[0] & 0x80 != 0, passes: passes),
                         immediate: cdb[1] & 0x80 != 0)
    }

    private static func writeRefusal(_ lu: LogicalUnitInfo, _ state: LogicalUnitState) -> SenseData? {
        if lu.readOnly { return .writeProtected }
        if state.softwareWriteProtect { return .softwareWriteProtected }
        return nil
    }
}

/// What a SANITIZE does to the medium.
public enum SanitizePlan: Sendable, Equatable {
    /// `passes` times: each block filled with `pattern` repeated (inverted on every other
    /// pass when `invert`, so the last pass writes the pattern itself when the count is odd).
    case overwrite(pattern: [UInt8], invert: Bool, passes: Int)
    /// Every block deallocated.
    case blockErase

    /// One block's bytes for pass `pass` (0-based) of an overwrite.
    public static func block(pattern: [UInt8], invert: Bool, passes: Int, pass: Int, blockSize: Int) -> [UInt8] {
        let flip = invert && (passes - 1 - pass) % 2 == 1
        return (0..<blockSize).map { flip ? ~pattern[$0 % pattern.count] : pattern[$0 % pattern.count] }
    }
}
