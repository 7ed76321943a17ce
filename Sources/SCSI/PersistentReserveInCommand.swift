/// SPC-4 6.16 PERSISTENT RESERVE IN: READ KEYS, READ RESERVATION, REPORT CAPABILITIES and
/// READ FULL STATUS (one command table row per service action).
enum PersistentReserveInCommand {
    enum ServiceAction: UInt8, CaseIterable {
        case readKeys = 0x00, readReservation = 0x01, reportCapabilities = 0x02, readFullStatus = 0x03

        var name: String {
            switch self {
            case .readKeys: return "PERSISTENT RESERVE IN READ KEYS"
            case .readReservation: return "PERSISTENT RESERVE IN READ RESERVATION"
            case .reportCapabilities: return "PERSISTENT RESERVE IN REPORT CAPABILITIES"
            case .readFullStatus: return "PERSISTENT RESERVE IN READ FULL STATUS"
            }
        }
    }

    /// REPORT CAPABILITIES byte 2: CRH (SPC-3 5.6.3 exceptions to RESERVE/RELEASE are
    /// implemented), ATP_C (ALL_TG_PT accepted), PTPL_C (APTPL accepted); no SIP_C
    /// (SPEC_I_PT is refused), no RLR_C.
    static let capabilityFlags: UInt8 = 0x10 | 0x04 | 0x01
    /// REPORT CAPABILITIES ALLOW COMMANDS 011b: TEST UNIT READY is allowed through Write
    /// Exclusive and Exclusive Access reservations, and MODE SENSE, REPORT SUPPORTED OPERATION
    /// CODES and READ DEFECT DATA through Write Exclusive ones.
    static let allowCommands: UInt8 = 0b011

    static func decode(_ cdb: CDB, serviceAction: ServiceAction, state: LogicalUnitState) -> SCSIAction {
        let allocationLength = Int(cdb.u16(at: 7))
        let pr = state.persistentReservations
        var out: [UInt8] = []
        switch serviceAction {
        case .readKeys:
            out.appendBE32(pr.generation)
            out.appendBE32(UInt32(8 * pr.registrations.count))
            for registration in pr.registrations { out.appendBE64(registration.key) }
        case .readReservation:
            out.appendBE32(pr.generation)
            if let reservation = pr.reservation {
                out.appendBE32(16)
                out.appendBE64(pr.reservationKey)
                out.appendBE32(0)                      // SCOPE-SPECIFIC ADDRESS (obsolete)
                out.append(0)
                out.append(reservation.type.rawValue)  // SCOPE 0h (LU_SCOPE), TYPE
                out.appendBE16(0)                      // obsolete
            } else {
                out.appendBE32(0)
            }
        case .reportCapabilities:
            out.appendBE16(8)                          // LENGTH
            out.append(capabilityFlags)
            out.append(0x80 | allowCommands << 4 | (pr.persistThroughPowerLoss ? 0x01 : 0x00))  // TMV, PTPL_A
            out.appendBE16(PersistentReservationType.allCases.reduce(0) { $0 | $1.typeMaskBit })
            out.appendBE16(0)
        case .readFullStatus:
            out.appendBE32(pr.generation)
            out.appendBE32(0)
            for index in pr.registrations.indices {
                let registration = pr.registrations[index]
                let holder = pr.isHolder(registration: index)
                out.appendBE64(registration.key)
                out.appendBE32(0)
                out.append((registration.allTargetPorts ? 0x02 : 0x00) | (holder ? 0x01 : 0x00))  // ALL_TG_PT, R_HOLDER
                out.append(holder ? pr.reservation?.type.rawValue ?? 0 : 0)                       // SCOPE, TYPE
                out.appendBE32(0)
                out.appendBE16(registration.allTargetPorts ? 0 : registration.nexus.relativeTargetPort)
                let transportID = registration.nexus.transportID
                out.appendBE32(UInt32(transportID.count))  // ADDITIONAL DESCRIPTOR LENGTH
                out += transportID
            }
            out.putBE32(UInt32(out.count - 8), at: 4)
        }
        return .dataIn(out.truncated(to: allocationLength))
    }
}
