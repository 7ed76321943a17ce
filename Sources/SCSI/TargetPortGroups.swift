/// ALUA (SPC-4 5.15): the target port groups through which an LU is reached, and the access
/// state of each. A plain LU has one group, always active/optimized. An LU that several
/// gateways serve (one Ceph RBD image behind several Targe instances) has one group per
/// gateway: the gateway holding the image's lock is active/optimized, the others standby.
public struct TargetPortGroup: Sendable, Equatable {
    /// TARGET PORT GROUP (VPD 83h designator type 5, REPORT TARGET PORT GROUPS); not 0.
    public var id: UInt16
    /// The one target port in the group (its RELATIVE TARGET PORT IDENTIFIER); not 0.
    public var relativePort: UInt16
    /// What the configuration calls it (a gateway name); for logs and status only.
    public var name: String

    public init(id: UInt16, relativePort: UInt16, name: String) {
        self.id = id
        self.relativePort = relativePort
        self.name = name
    }
}

/// SPC-4 table 166: ASYMMETRIC ACCESS STATE.
public enum ALUAAccessState: UInt8, Sendable, Equatable, CustomStringConvertible {
    case activeOptimized = 0x0
    case activeNonOptimized = 0x1
    case standby = 0x2
    case unavailable = 0x3
    case transitioning = 0xF

    public var description: String {
        switch self {
        case .activeOptimized: "active/optimized"
        case .activeNonOptimized: "active/non-optimized"
        case .standby: "standby"
        case .unavailable: "unavailable"
        case .transitioning: "transitioning"
        }
    }
}

/// Who serves the LU now, as this target port sees it: its own group's state and which group
/// holds the LU (the owner of the shared image's lock), when known.
public struct ALUAView: Sendable, Equatable {
    public var local: ALUAAccessState
    /// The group that is active/optimized; nil when none is known (every group reports
    /// standby but this one, which reports `local`).
    public var owner: UInt16?

    /// Whether the LU's persistent reservations are shared by every port group (kept in the
    /// cluster): then PERSISTENT RESERVE IN/OUT work through a standby port too.
    public var sharedReservations: Bool

    public init(local: ALUAAccessState, owner: UInt16?, sharedReservations: Bool = false) {
        self.local = local
        self.owner = owner
        self.sharedReservations = sharedReservations
    }

    /// A plain LU: its only group serves.
    public static let sole = ALUAView(local: .activeOptimized, owner: nil)

    /// The state of `group` (`localGroup` is this port's).
    public func state(of group: UInt16, localGroup: UInt16) -> ALUAAccessState {
        if group == localGroup { return local }
        return group == owner ? .activeOptimized : .standby
    }

    /// SPC-4 5.15.2.4.4-5: in standby or unavailable state only these commands are processed;
    /// every other fails NOT READY, LOGICAL UNIT NOT ACCESSIBLE (04/0B standby, 04/0C
    /// unavailable), so that a multipath initiator moves on to the active port. INQUIRY,
    /// REPORT LUNS, REQUEST SENSE, MODE SENSE/SELECT, LOG SENSE/SELECT, diagnostics and
    /// REPORT/SET TARGET PORT GROUPS work in both. PERSISTENT RESERVE IN/OUT, which the
    /// standard allows in standby, work when the reservations are shared; otherwise they are
    /// refused too, since a registration through a standby port would not hold on the active one.
    public func refuses(_ cdb: CDB) -> SenseData? {
        let sense: SenseData
        switch local {
        case .activeOptimized, .activeNonOptimized: return nil
        case .standby: sense = .notReadyTargetPortStandby
        case .unavailable: sense = .notReadyTargetPortUnavailable
        case .transitioning: sense = .notReadyALUATransition
        }
        switch cdb.opcode {
        case 0x12, 0xA0, 0x03, 0x1A, 0x5A, 0x15, 0x55, 0x4C, 0x4D, 0x1C, 0x1D:
            return nil
        case 0x5E where sharedReservations && local == .standby:  // PERSISTENT RESERVE IN
            return nil
        case 0x5F where sharedReservations && local == .standby:  // PERSISTENT RESERVE OUT
            return nil
        case 0xA3 where cdb[1] & 0x1F == 0x0A:  // REPORT TARGET PORT GROUPS
            return nil
        case 0xA4 where cdb[1] & 0x1F == 0x0A:  // SET TARGET PORT GROUPS
            return nil
        default:
            return sense
        }
    }
}
