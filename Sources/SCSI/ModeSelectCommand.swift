/// SPC-4 6.9 MODE SELECT (6) and 6.10 MODE SELECT (10) for a direct-access LU: a two-phase
/// command (the CDB, then the mode parameter list as Data-Out).
///
/// Only the page format (PF=1) is accepted, and nothing can be saved (SP=1 fails with INVALID
/// FIELD IN CDB, SPC-4 6.9.1). The list is checked completely before anything changes: a
/// truncated header, block descriptor or page gives PARAMETER LIST LENGTH ERROR; a block
/// descriptor that would change the block length or capacity, an unknown page or subpage, a
/// wrong page length, or a change to a bit outside the page's changeable mask gives INVALID
/// FIELD IN PARAMETER LIST with a field pointer into the list.
enum ModeSelectCommand {
    static func decode(_ cdb: CDB, form: ModeSenseCommand.Form) -> SCSIAction {
        let length = form == .six ? Int(cdb[4]) : Int(cdb.u16(at: 7))
        if cdb[1] & 0x10 == 0 { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 4)) }  // PF
        if cdb[1] & 0x01 != 0 { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 0)) }  // SP
        if length == 0 { return .good }  // no parameter list: not an error
        if length < headerLength(form) { return .checkCondition(.parameterListLengthError) }
        return .parameterData(length: length)
    }

    static func headerLength(_ form: ModeSenseCommand.Form) -> Int { form == .six ? 4 : 8 }

    static func complete(_ cdb: CDB, form: ModeSenseCommand.Form, parameters: [UInt8], lu: LogicalUnitInfo,
                         state: inout LogicalUnitState, context: CommandContext) -> SCSIAction {
        let listLength = min(parameters.count, form == .six ? Int(cdb[4]) : Int(cdb.u16(at: 7)))
        let list = Array(parameters.prefix(listLength))
        var updated = state
        if let sense = apply(list, form: form, lu: lu, to: &updated) {
            return .checkCondition(sense)
        }
        let changed = ModePages.all.contains { $0.values(lu, updated) != $0.values(lu, state) }
        state = updated
        if changed {
            // SPC-4 5.14 / 7.5.1: the parameters are shared by every I_T nexus.
            state.establishUnitAttention(.modeParametersChanged, except: context.nexus)
        }
        return .good
    }

    /// Checks the whole list and applies it to `state`; returns the sense data of the first
    /// error (then `state` is to be discarded).
    static func apply(_ list: [UInt8], form: ModeSenseCommand.Form, lu: LogicalUnitInfo,
                      to state: inout LogicalUnitState) -> SenseData? {
        let header = headerLength(form)
        guard list.count >= header else { return .parameterListLengthError }
        // MODE DATA LENGTH is reserved; MEDIUM TYPE and DEVICE-SPECIFIC PARAMETER (WP,
        // DPOFUA) are not settable for a direct-access LU and are ignored.
        let longLBA = form == .ten && list[4] & 0x01 != 0
        let descriptorLength = form == .six ? Int(list[3]) : Int(list[6]) << 8 | Int(list[7])
        let descriptorLengthField = form == .six ? 3 : 6
        let descriptorSize = longLBA ? 16 : 8
        guard descriptorLength == 0 || descriptorLength == descriptorSize else {
            return .invalidFieldInParameterList(byte: descriptorLengthField)
        }
        guard list.count >= header + descriptorLength else { return .parameterListLengthError }
        if descriptorLength > 0, let sense = checkBlockDescriptor(list, at: header, long: longLBA, lu: lu) {
            return sense
        }

        var offset = header + descriptorLength
        while offset < list.count {
            let codeByte = list[offset]
            if codeByte & 0x40 != 0 {  // SPF: no page has subpages
                return .invalidFieldInParameterList(byte: offset, bit: 6)
            }
            guard let page = ModePages.page(codeByte & 0x3F) else {
                return .invalidFieldInParameterList(byte: offset, bit: 5)
            }
            guard offset + 2 <= list.count else { return .parameterListLengthError }
            let current = page.values(lu, state)
            guard Int(list[offset + 1]) == current.count else {
                return .invalidFieldInParameterList(byte: offset + 1)
            }
            let bodyStart = offset + 2
            guard bodyStart + current.count <= list.count else { return .parameterListLengthError }
            let body = Array(list[bodyStart..<(bodyStart + current.count)])
            let mask = page.changeableMask(length: current.count)
            for index in body.indices {
                let forbidden = (body[index] ^ current[index]) & ~mask[index]
                if forbidden != 0 {
                    return .invalidFieldInParameterList(byte: bodyStart + index, bit: 7 - forbidden.leadingZeroBitCount)
                }
            }
            if let bad = page.validate(body) {
                return .invalidFieldInParameterList(byte: bodyStart + bad.index, bit: bad.bit)
            }
            page.apply(body, lu, &state)
            offset = bodyStart + current.count
        }
        return nil
    }

    /// SBC-4 6.5.2: the block length must stay; the capacity can only be named as it is (or 0,
    /// "no change").
    static func checkBlockDescriptor(_ list: [UInt8], at start: Int, long: Bool,
                                     lu: LogicalUnitInfo) -> SenseData? {
        func value(_ from: Int, _ count: Int) -> UInt64 {
            list[from..<(from + count)].reduce(0) { $0 << 8 | UInt64($1) }
        }
        let blocks: UInt64
        let currentBlocks: UInt64
        let lengthOffset: Int
        let blockLength: UInt64
        if long {
            blocks = value(start, 8)
            currentBlocks = lu.blockCount
            lengthOffset = start + 12
            blockLength = value(lengthOffset, 4)
        } else {
            blocks = value(start, 4)
            currentBlocks = min(lu.blockCount, 0xFFFF_FFFF)
            lengthOffset = start + 5
            blockLength = value(lengthOffset, 3)
        }
        if blocks != 0 && blocks != currentBlocks {
            return .invalidFieldInParameterList(byte: start)
        }
        if blockLength != UInt64(lu.blockSize) {
            return .invalidFieldInParameterList(byte: lengthOffset)
        }
        return nil
    }
}
