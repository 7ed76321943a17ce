/// How a command stands with reservations: SPC-2 RESERVE/RELEASE (spc2r20 5.5.1) and
/// persistent reservations (SPC-4 5.12.1 table 54, SBC-4 4.17 table 13). One per command
/// table row.
enum ReservationClass: Sendable {
    /// Never conflicts: INQUIRY, REPORT LUNS, REQUEST SENSE, REPORT TARGET PORT GROUPS.
    case exempt
    /// Allowed through every persistent reservation; conflicts with another nexus's SPC-2
    /// reservation: TEST UNIT READY, READ CAPACITY.
    case allowed
    /// Reads or reports on the medium: allowed through Write Exclusive persistent reservations
    /// (READ, VERIFY, PRE-FETCH, MODE SENSE, READ DEFECT DATA, REPORT SUPPORTED OPERATION CODES).
    case read
    /// Changes the medium or the LU: WRITE, WRITE AND VERIFY, SYNCHRONIZE CACHE, MODE SELECT.
    case write
    /// START STOP UNIT: allowed through persistent reservations only with START=1 and POWER
    /// CONDITION 0h (SBC-4 table 13).
    case startStopUnit
    /// PREVENT ALLOW MEDIUM REMOVAL: PREVENT=00b is always allowed (spc2r20 and SBC-4).
    case preventAllow
    /// PERSISTENT RESERVE IN/OUT: conflict with any SPC-2 reservation, whoever holds it
    /// (spc2r20 5.5.1); the persistent reservation rules are the command's own.
    case persistentReserve
    /// RESERVE/RELEASE: the command decides (SPC-2 and SPC-3 5.6.3).
    case reserveRelease

    /// The command as persistent reservations see it; nil when they do not restrict it.
    func mediumAccess(_ cdb: CDB) -> MediumAccess? {
        switch self {
        case .exempt, .allowed, .persistentReserve, .reserveRelease: return nil
        case .read: return .read
        case .write: return .write
        case .startStopUnit:
            return cdb[4] & 0xF1 == 0x01 ? nil : .write  // START=1, POWER CONDITION=0h
        case .preventAllow:
            return cdb[4] & 0x03 == 0 ? nil : .write
        }
    }
}

extension LogicalUnitState {
    /// Whether a command from `nexus` must end with RESERVATION CONFLICT.
    func conflicts(_ cdb: CDB, _ reservationClass: ReservationClass, from nexus: NexusIdentity) -> Bool {
        if let holder = reservationHolder {
            switch reservationClass {
            case .persistentReserve:
                return true
            case .exempt, .reserveRelease:
                break
            case .preventAllow where cdb[4] & 0x03 == 0:
                break
            case .allowed, .read, .write, .startStopUnit, .preventAllow:
                if holder != nexus { return true }
            }
        }
        if persistentReservations.reservation != nil, let access = reservationClass.mediumAccess(cdb) {
            return !persistentReservations.permits(access, from: nexus)
        }
        return false
    }
}

extension LogicalUnitState {
    /// Why an EXTENDED COPY from `nexus` may not read (or, `writing`, write) this LU as a copy
    /// source (destination): the LU is stopped or sanitizing, or a reservation of another
    /// nexus forbids it, as it would forbid a READ or WRITE from that nexus. Nil: it may.
    public func copyRefusal(for nexus: NexusIdentity, writing: Bool) -> SenseData? {
        if stopped || sanitize != .idle { return .copyTargetNotReachable }
        let probe = CDB(writing ? [0x2A, 0, 0, 0, 0, 0, 0, 0, 0, 0] : [0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        if conflicts(probe, writing ? .write : .read, from: nexus) { return .copyTargetNotReachable }
        if writing && softwareWriteProtect { return SenseData(key: .copyAborted, asc: 0x27, ascq: 0x00) }
        return nil
    }
}
