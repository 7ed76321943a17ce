/// The commands a direct-access LU supports, as a table: one row per opcode (and per service
/// action for opcodes that have them). Dispatch, REPORT SUPPORTED OPERATION CODES and the
/// readiness rules all read this table.
enum CommandTable {
    /// Rows in REPORT SUPPORTED OPERATION CODES order (by opcode, then service action).
    static let rows: [CommandDescriptor] = {
        let blockRows = BlockCommandLayout.all.map { layout in
            CommandDescriptor(layout.opcode, layout.name, usage: layout.usage, readiness: .needsStartedUnit) {
                cdb, lu, state, _ in BlockCommand.decode(cdb, layout: layout, lu: lu, state: state)
            }
        }
        let others: [CommandDescriptor] = [
            CommandDescriptor(0x00, "TEST UNIT READY", usage: [0x00, 0, 0, 0, 0, 0x07],
                              readiness: .needsStartedUnit) { _, _, _, _ in .good },
            CommandDescriptor(0x03, "REQUEST SENSE", usage: [0x03, 0x01, 0, 0, 0xFF, 0x07],
                              readiness: .always) { cdb, _, state, _ in RequestSenseCommand.decode(cdb, state: state) },
            CommandDescriptor(0x12, "INQUIRY", usage: [0x12, 0x01, 0xFF, 0xFF, 0xFF, 0x07],
                              readiness: .always) { cdb, lu, state, context in
                InquiryCommand.decode(cdb, lu: lu, state: state, context: context)
            },
            CommandDescriptor(0x1A, "MODE SENSE(6)", usage: [0x1A, 0x08, 0xFF, 0xFF, 0xFF, 0x07],
                              readiness: .always) { cdb, lu, state, _ in
                ModeSenseCommand.decode(cdb, form: .six, lu: lu, state: state)
            },
            CommandDescriptor(0x1B, "START STOP UNIT", usage: [0x1B, 0x01, 0, 0x0F, 0xF7, 0x07],
                              readiness: .always) { cdb, _, state, _ in StartStopUnitCommand.decode(cdb, state: &state) },
            CommandDescriptor(0x1E, "PREVENT ALLOW MEDIUM REMOVAL", usage: [0x1E, 0, 0, 0, 0x03, 0x07],
                              readiness: .always) { _, _, _, _ in .good },
            CommandDescriptor(0x25, "READ CAPACITY(10)",
                              usage: [0x25, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0x01, 0x07],
                              readiness: .needsStartedUnit) { cdb, lu, _, _ in ReadCapacityCommand.decode10(cdb, lu: lu) },
            CommandDescriptor(0x5A, "MODE SENSE(10)",
                              usage: [0x5A, 0x18, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0x07],
                              readiness: .always) { cdb, lu, state, _ in
                ModeSenseCommand.decode(cdb, form: .ten, lu: lu, state: state)
            },
            CommandDescriptor(0x9E, serviceAction: 0x10, "READ CAPACITY(16)",
                              usage: [0x9E, 0x10] + [UInt8](repeating: 0xFF, count: 12) + [0x01, 0x07],
                              readiness: .needsStartedUnit) { cdb, lu, _, _ in ReadCapacityCommand.decode16(cdb, lu: lu) },
            CommandDescriptor(0xA0, "REPORT LUNS",
                              usage: [0xA0, 0, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07],
                              readiness: .always) { cdb, _, _, context in ReportLUNsCommand.decode(cdb, context: context) },
            CommandDescriptor(0xA3, serviceAction: 0x0C, "REPORT SUPPORTED OPERATION CODES",
                              usage: [0xA3, 0x0C, 0x87, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07],
                              readiness: .always) { cdb, _, _, _ in ReportSupportedOperationCodesCommand.decode(cdb) },
        ]
        return (blockRows + others).sorted {
            ($0.opcode, $0.serviceAction ?? 0) < ($1.opcode, $1.serviceAction ?? 0)
        }
    }()

    /// What an opcode maps to.
    enum Entry: Sendable {
        case unsupported
        case command(CommandDescriptor)
        /// Opcode with service actions in CDB byte 1 bits 4-0, indexed by service action.
        case serviceActions([UInt8: CommandDescriptor])
    }

    /// 256 entries, indexed by opcode.
    static let byOpcode: [Entry] = {
        var table = [Entry](repeating: .unsupported, count: 256)
        for row in rows {
            let index = Int(row.opcode)
            if let serviceAction = row.serviceAction {
                var actions: [UInt8: CommandDescriptor] = [:]
                if case .serviceActions(let existing) = table[index] { actions = existing }
                actions[serviceAction] = row
                table[index] = .serviceActions(actions)
            } else {
                table[index] = .command(row)
            }
        }
        return table
    }()

    /// CDB length implied by the opcode's group code (SPC-4 4.2.5.1), for opcodes not in the table.
    static func cdbLength(forGroupOf opcode: UInt8) -> Int {
        switch opcode >> 5 {
        case 0: return 6
        case 1, 2: return 10
        case 4: return 16
        case 5: return 12
        default: return 16
        }
    }
}
