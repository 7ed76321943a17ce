/// SPC-4 6.35 REPORT SUPPORTED OPERATION CODES (MAINTENANCE IN, service action 0Ch),
/// generated from `CommandTable`.
enum ReportSupportedOperationCodesCommand {
    static func decode(_ cdb: CDB, lu: LogicalUnitInfo) -> SCSIAction {
        let timeouts = cdb[2] & 0x80 != 0 // RCTD
        let reportingOptions = cdb[2] & 0x07
        let requestedOpcode = cdb[3]
        let requestedServiceAction = cdb.u16(at: 4)
        let allocationLength = Int(cdb.u32(at: 6))

        switch reportingOptions {
        case 0b000:
            return .dataIn(allCommands(timeouts: timeouts, lu: lu).truncated(to: allocationLength))
        case 0b001, 0b010, 0b011:
            let entry = CommandTable.byOpcode[Int(requestedOpcode)]
            let descriptor: CommandDescriptor?
            switch (reportingOptions, entry) {
            case (0b001, .serviceActions), (0b010, .command):
                // 001b names an opcode without service actions, 010b one with them.
                return .checkCondition(.invalidFieldInCDB(byte: 2, bit: 2))
            case (_, .serviceActions(let actions)):
                descriptor = requestedServiceAction > 0x1F ? nil : actions[UInt8(requestedServiceAction)]
            case (_, .command(let row)):
                descriptor = row
            case (_, .unsupported):
                descriptor = nil
            }
            let offered = descriptor.flatMap { $0.isAvailable(lu) ? $0 : nil }
            return .dataIn(oneCommand(offered, timeouts: timeouts).truncated(to: allocationLength))
        default:
            return .checkCondition(.invalidFieldInCDB(byte: 2, bit: 2))
        }
    }

    /// All-commands parameter data: COMMAND DATA LENGTH, then one descriptor per row.
    static func allCommands(timeouts: Bool, lu: LogicalUnitInfo) -> [UInt8] {
        var out: [UInt8] = [0, 0, 0, 0]
        for row in CommandTable.rows where row.isAvailable(lu) {
            out.append(row.opcode)
            out.append(0)
            out.appendBE16(UInt16(row.serviceAction ?? 0))
            out.append(0)
            out.append((timeouts ? 0x02 : 0x00) | (row.serviceAction != nil ? 0x01 : 0x00)) // CTDP, SERVACTV
            out.appendBE16(UInt16(row.cdbLength))
            if timeouts { out += timeoutsDescriptor }
        }
        out.putBE32(UInt32(out.count - 4), at: 0)
        return out
    }

    /// One-command parameter data: SUPPORT 011b (supported, conforming) with the CDB usage
    /// data, or 001b (not supported) with CDB SIZE 0.
    static func oneCommand(_ descriptor: CommandDescriptor?, timeouts: Bool) -> [UInt8] {
        guard let descriptor else { return [0, 0x01, 0, 0] }
        var out: [UInt8] = [0, (timeouts ? 0x80 : 0x00) | 0x03]
        out.appendBE16(UInt16(descriptor.cdbLength))
        out += descriptor.usage
        if timeouts { out += timeoutsDescriptor }
        return out
    }

    /// SPC-4 6.35.4 command timeouts descriptor: DESCRIPTOR LENGTH 0Ah, no timeouts indicated.
    static let timeoutsDescriptor: [UInt8] = [0x00, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
}
