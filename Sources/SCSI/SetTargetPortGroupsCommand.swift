/// SPC-4 6.45 SET TARGET PORT GROUPS (MAINTENANCE OUT, service action 0Ah): explicit ALUA,
/// offered (TPGS=11b) only by LUs that several gateways serve. The groups are exclusive: one
/// is active/optimized (the gateway holding the shared image), the others standby. So a
/// list may make one group active/optimized, or this port's group standby; the device
/// server carries it out (taking the image over, or letting it go) before GOOD.
public enum SetTargetPortGroupsCommand {
    /// What a parameter list asks of this gateway.
    public enum Request: Sendable, Equatable {
        /// This port's group becomes active/optimized: take the LU over.
        case takeOver
        /// Another group becomes active/optimized, or this one standby: let the LU go.
        case letGo
        /// Nothing for this gateway to do (another group standby, or what already is).
        case nothing
    }

    static func decode(_ cdb: CDB) -> SCSIAction {
        let length = Int(cdb.u32(at: 6))
        return length == 0 ? .good : .parameterData(length: length)
    }

    /// Reads the descriptors (4-byte header, then 4 bytes each: state in byte 0, group in
    /// bytes 2-3).
    public static func request(_ parameters: [UInt8], lu: LogicalUnitInfo, view: ALUAView) -> Result<Request, SenseData> {
        guard parameters.count >= 4, (parameters.count - 4) % 4 == 0 else {
            return .failure(.parameterListLengthError)
        }
        var becomesActive: UInt16?
        var localStandby = false
        for offset in stride(from: 4, to: parameters.count, by: 4) {
            let group = UInt16(parameters[offset + 2]) << 8 | UInt16(parameters[offset + 3])
            guard lu.portGroups.contains(where: { $0.id == group }) else {
                return .failure(.invalidFieldInParameterList(byte: offset + 2))
            }
            switch ALUAAccessState(rawValue: parameters[offset] & 0x0F) {
            case .activeOptimized?:
                if let other = becomesActive, other != group {
                    return .failure(.invalidFieldInParameterList(byte: offset + 2))  // two active groups
                }
                becomesActive = group
            case .standby?:
                if group == lu.targetPortGroup { localStandby = true }
            default:
                // Active/non-optimized, unavailable, transitioning: not states a group can be told to take.
                return .failure(.invalidFieldInParameterList(byte: offset, bit: 3))
            }
        }
        if becomesActive == lu.targetPortGroup {
            guard !localStandby else { return .failure(.invalidFieldInParameterList(byte: 4)) }
            return .success(view.local == .activeOptimized ? .nothing : .takeOver)
        }
        if becomesActive != nil || localStandby {
            return .success(view.local == .activeOptimized ? .letGo : .nothing)
        }
        return .success(.nothing)
    }
}
