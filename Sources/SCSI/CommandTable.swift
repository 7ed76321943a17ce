/// The commands a direct-access LU supports, as a table: one row per opcode (and per service
/// action for opcodes that have them). Dispatch, REPORT SUPPORTED OPERATION CODES and the
/// readiness rules all read this table.
enum CommandTable {
    /// Rows in REPORT SUPPORTED OPERATION CODES order (by opcode, then service action).
    static let rows: [CommandDescriptor] = {
        let blockRows = BlockCommandLayout.all.map { layout in
            CommandDescriptor(layout.opcode, layout.name, usage: layout.usage, readiness: .needsStartedUnit,
                              reservation: layout.operation.reservationClass) {
                cdb, lu, state, _ in BlockCommand.decode(cdb, layout: layout, lu: lu, state: state)
            }
        }
        let others: [CommandDescriptor] = [
            CommandDescriptor(0x00, "TEST UNIT READY", usage: [0x00, 0, 0, 0, 0, 0x07],
                              readiness: .needsStartedUnit, reservation: .allowed) { _, _, _, _ in .good },
            CommandDescriptor(0x03, "REQUEST SENSE", usage: [0x03, 0x01, 0, 0, 0xFF, 0x07],
                              readiness: .always, reservation: .exempt) { cdb, _, state, context in
                RequestSenseCommand.decode(cdb, state: &state, nexus: context.nexus)
            },
            CommandDescriptor(0x12, "INQUIRY", usage: [0x12, 0x01, 0xFF, 0xFF, 0xFF, 0x07],
                              readiness: .always, reservation: .exempt) { cdb, lu, state, context in
                InquiryCommand.decode(cdb, lu: lu, state: state, context: context)
            },
            CommandDescriptor(0x15, "MODE SELECT(6)", usage: [0x15, 0x11, 0, 0, 0xFF, 0x07],
                              readiness: .always, reservation: .write,
                              completion: { cdb, parameters, lu, state, context in
                                  ModeSelectCommand.complete(cdb, form: .six, parameters: parameters, lu: lu,
                                                             state: &state, context: context)
                              }) { cdb, _, _, _ in ModeSelectCommand.decode(cdb, form: .six) },
            CommandDescriptor(0x16, "RESERVE(6)", usage: [0x16, 0, 0, 0, 0, 0x07],
                              readiness: .always, reservation: .reserveRelease) { cdb, _, state, context in
                ReserveReleaseCommand.reserve(cdb, form: .six, state: &state, nexus: context.nexus)
            },
            CommandDescriptor(0x17, "RELEASE(6)", usage: [0x17, 0, 0, 0, 0, 0x07],
                              readiness: .always, reservation: .reserveRelease) { cdb, _, state, context in
                ReserveReleaseCommand.release(cdb, form: .six, state: &state, nexus: context.nexus)
            },
            CommandDescriptor(0x1A, "MODE SENSE(6)", usage: [0x1A, 0x08, 0xFF, 0xFF, 0xFF, 0x07],
                              readiness: .always, reservation: .read) { cdb, lu, state, _ in
                ModeSenseCommand.decode(cdb, form: .six, lu: lu, state: state)
            },
            CommandDescriptor(0x1B, "START STOP UNIT", usage: [0x1B, 0x01, 0, 0x0F, 0xF7, 0x07],
                              readiness: .always, reservation: .startStopUnit) { cdb, _, state, _ in
                StartStopUnitCommand.decode(cdb, state: &state)
            },
            CommandDescriptor(0x1E, "PREVENT ALLOW MEDIUM REMOVAL", usage: [0x1E, 0, 0, 0, 0x03, 0x07],
                              readiness: .always, reservation: .preventAllow) { cdb, _, state, context in
                PreventAllowCommand.decode(cdb, state: &state, nexus: context.nexus)
            },
            CommandDescriptor(0x25, "READ CAPACITY(10)",
                              usage: [0x25, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0x01, 0x07],
                              readiness: .needsStartedUnit, reservation: .allowed) { cdb, lu, _, _ in
                ReadCapacityCommand.decode10(cdb, lu: lu)
            },
            CommandDescriptor(0x37, "READ DEFECT DATA(10)", usage: [0x37, 0, 0x1F, 0, 0, 0, 0, 0xFF, 0xFF, 0x07],
                              readiness: .needsStartedUnit, reservation: .read) { cdb, _, _, _ in
                ReadDefectDataCommand.decode(cdb, form: .ten)
            },
            CommandDescriptor(0x41, "WRITE SAME(10)", usage: [0x41, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x07],
                              readiness: .needsStartedUnit, reservation: .write) { cdb, lu, state, _ in
                WriteSameCommand.decode(cdb, form: .ten, lu: lu, state: state)
            },
            CommandDescriptor(0x42, "UNMAP", usage: [0x42, 0x01, 0, 0, 0, 0, 0x1F, 0xFF, 0xFF, 0x07],
                              readiness: .needsStartedUnit, reservation: .write,
                              completion: { _, parameters, lu, _, _ in UnmapCommand.complete(parameters: parameters, lu: lu) },
                              available: { $0.thinProvisioned }) {
                cdb, lu, state, _ in UnmapCommand.decode(cdb, lu: lu, state: state)
            },
            CommandDescriptor(0x55, "MODE SELECT(10)", usage: [0x55, 0x11, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0x07],
                              readiness: .always, reservation: .write,
                              completion: { cdb, parameters, lu, state, context in
                                  ModeSelectCommand.complete(cdb, form: .ten, parameters: parameters, lu: lu,
                                                             state: &state, context: context)
                              }) { cdb, _, _, _ in ModeSelectCommand.decode(cdb, form: .ten) },
            CommandDescriptor(0x56, "RESERVE(10)", usage: [0x56, 0x12, 0, 0, 0, 0, 0, 0, 0, 0x07],
                              readiness: .always, reservation: .reserveRelease) { cdb, _, state, context in
                ReserveReleaseCommand.reserve(cdb, form: .ten, state: &state, nexus: context.nexus)
            },
            CommandDescriptor(0x57, "RELEASE(10)", usage: [0x57, 0x12, 0, 0, 0, 0, 0, 0, 0, 0x07],
                              readiness: .always, reservation: .reserveRelease) { cdb, _, state, context in
                ReserveReleaseCommand.release(cdb, form: .ten, state: &state, nexus: context.nexus)
            },
            CommandDescriptor(0x5A, "MODE SENSE(10)",
                              usage: [0x5A, 0x18, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0x07],
                              readiness: .always, reservation: .read) { cdb, lu, state, _ in
                ModeSenseCommand.decode(cdb, form: .ten, lu: lu, state: state)
            },
            CommandDescriptor(0x83, serviceAction: 0x00, "EXTENDED COPY(LID1)",
                              usage: [0x83, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07],
                              readiness: .needsStartedUnit, reservation: .write,
                              completion: { _, parameters, _, state, context in
                                  ExtendedCopyCommand.complete(parameters: parameters, state: &state, context: context)
                              }) { cdb, _, _, _ in ExtendedCopyCommand.decode(cdb) },
            CommandDescriptor(0x89, "COMPARE AND WRITE",
                              usage: [0x89, 0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0x1F, 0x07],
                              readiness: .needsStartedUnit, reservation: .write) { cdb, lu, state, context in
                CompareAndWriteCommand.decode(cdb, lu: lu, state: state, context: context)
            },
            CommandDescriptor(0x8B, "ORWRITE(16)",
                              usage: [0x8B, 0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x07],
                              readiness: .needsStartedUnit, reservation: .write) { cdb, lu, state, _ in
                OrWriteCommand.decode(cdb, lu: lu, state: state)
            },
            CommandDescriptor(0x93, "WRITE SAME(16)",
                              usage: [0x93, 0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x07],
                              readiness: .needsStartedUnit, reservation: .write) { cdb, lu, state, _ in
                WriteSameCommand.decode(cdb, form: .sixteen, lu: lu, state: state)
            },
            CommandDescriptor(0x9E, serviceAction: 0x10, "READ CAPACITY(16)",
                              usage: [0x9E, 0x10] + [UInt8](repeating: 0xFF, count: 12) + [0x01, 0x07],
                              readiness: .needsStartedUnit, reservation: .allowed) { cdb, lu, _, _ in
                ReadCapacityCommand.decode16(cdb, lu: lu)
            },
            CommandDescriptor(0x9E, serviceAction: 0x12, "GET LBA STATUS",
                              usage: [0x9E, 0x12] + [UInt8](repeating: 0xFF, count: 12) + [0, 0x07],
                              readiness: .needsStartedUnit, reservation: .read, available: { $0.thinProvisioned }) { cdb, lu, _, _ in
                GetLBAStatusCommand.decode(cdb, lu: lu)
            },
            CommandDescriptor(0xA0, "REPORT LUNS",
                              usage: [0xA0, 0, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07],
                              readiness: .always, reservation: .exempt) { cdb, _, _, context in
                ReportLUNsCommand.decode(cdb, context: context)
            },
            CommandDescriptor(0xA3, serviceAction: 0x0A, "REPORT TARGET PORT GROUPS",
                              usage: [0xA3, 0xEA, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07],
                              readiness: .always, reservation: .exempt) { cdb, lu, state, _ in
                ReportTargetPortGroupsCommand.decode(cdb, lu: lu, view: state.alua)
            },
            CommandDescriptor(0xA3, serviceAction: 0x0C, "REPORT SUPPORTED OPERATION CODES",
                              usage: [0xA3, 0x0C, 0x87, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07],
                              readiness: .always, reservation: .read) { cdb, lu, _, _ in
                ReportSupportedOperationCodesCommand.decode(cdb, lu: lu)
            },
            // Only where gateways share the LU; the device server carries the request out (the
            // completion here only checks the list, for a transport that has no gateways).
            CommandDescriptor(0xA4, serviceAction: 0x0A, "SET TARGET PORT GROUPS",
                              usage: [0xA4, 0x0A, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07],
                              readiness: .always, reservation: .write,
                              completion: { _, parameters, lu, state, _ in
                                  switch SetTargetPortGroupsCommand.request(parameters, lu: lu, view: state.alua) {
                                  case let .failure(sense): return .checkCondition(sense)
                                  case .success: return .good
                                  }
                              },
                              available: { !$0.portGroups.isEmpty }) { cdb, _, _, _ in
                SetTargetPortGroupsCommand.decode(cdb)
            },
            CommandDescriptor(0xB7, "READ DEFECT DATA(12)",
                              usage: [0xB7, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07],
                              readiness: .needsStartedUnit, reservation: .read) { cdb, _, _, _ in
                ReadDefectDataCommand.decode(cdb, form: .twelve)
            },
        ]
        let persistentReserveIn = PersistentReserveInCommand.ServiceAction.allCases.map { action in
            CommandDescriptor(0x5E, serviceAction: action.rawValue, action.name,
                              usage: [0x5E, action.rawValue, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0x07],
                              readiness: .always, reservation: .persistentReserve) { cdb, _, state, _ in
                PersistentReserveInCommand.decode(cdb, serviceAction: action, state: state)
            }
        }
        let persistentReserveOut = PersistentReserveOutCommand.ServiceAction.allCases.map { action in
            CommandDescriptor(0x5F, serviceAction: action.rawValue, action.name,
                              usage: [0x5F, action.rawValue, action.usesType ? 0xFF : 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x07],
                              readiness: .always, reservation: .persistentReserve,
                              completion: { cdb, parameters, _, state, context in
                                  PersistentReserveOutCommand.complete(cdb, serviceAction: action, parameters: parameters,
                                                                       state: &state, context: context)
                              }) { cdb, _, _, _ in
                PersistentReserveOutCommand.decode(cdb, serviceAction: action)
            }
        }
        let receiveCopyResults = ReceiveCopyResultsCommand.ServiceAction.allCases.map { action in
            CommandDescriptor(0x84, serviceAction: action.rawValue, action.name,
                              usage: [0x84, action.rawValue, action == .copyStatus ? 0xFF : 0, 0, 0, 0, 0, 0, 0, 0,
                                      0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07],
                              readiness: .always, reservation: .allowed) { cdb, lu, state, context in
                ReceiveCopyResultsCommand.decode(cdb, serviceAction: action, lu: lu, state: state, context: context)
            }
        }
        let sanitize = SanitizeCommand.ServiceAction.allCases.map { action in
            CommandDescriptor(SanitizeCommand.opcode, serviceAction: action.rawValue, action.name,
                              usage: [SanitizeCommand.opcode, 0xA0 | action.rawValue, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0x07],
                              readiness: .needsStartedUnit, reservation: .write,
                              completion: { cdb, parameters, lu, state, _ in
                                  SanitizeCommand.complete(cdb, parameters: parameters, lu: lu, state: &state)
                              }, available: { action.isAvailable($0) }) { cdb, lu, state, _ in
                SanitizeCommand.decode(cdb, serviceAction: action, lu: lu, state: &state)
            }
        }
        return (blockRows + others + persistentReserveIn + persistentReserveOut + receiveCopyResults + sanitize).sorted {
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
