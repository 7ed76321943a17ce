/// SPC-4 5.12 persistent reservation types (PERSISTENT RESERVE OUT TYPE field).
enum PersistentReservationType: UInt8, Sendable, CaseIterable {
    case writeExclusive = 0x1
    case exclusiveAccess = 0x3
    case writeExclusiveRegistrantsOnly = 0x5
    case exclusiveAccessRegistrantsOnly = 0x6
    case writeExclusiveAllRegistrants = 0x7
    case exclusiveAccessAllRegistrants = 0x8

    /// Every registered I_T nexus is a reservation holder.
    var allRegistrants: Bool {
        self == .writeExclusiveAllRegistrants || self == .exclusiveAccessAllRegistrants
    }

    /// Registrants-only or all-registrants: registered I_T nexuses get full access.
    var registrantsHaveAccess: Bool { self != .writeExclusive && self != .exclusiveAccess }

    /// Reads (and other commands that only look at the medium) conflict for non-holders.
    var excludesReads: Bool {
        self == .exclusiveAccess || self == .exclusiveAccessRegistrantsOnly || self == .exclusiveAccessAllRegistrants
    }

    /// SPC-4 6.16.4 PERSISTENT RESERVATION TYPE MASK bit (bytes 4-5 as one big-endian word).
    var typeMaskBit: UInt16 {
        switch self {
        case .writeExclusiveAllRegistrants: return 0x8000
        case .exclusiveAccessRegistrantsOnly: return 0x4000
        case .writeExclusiveRegistrantsOnly: return 0x2000
        case .exclusiveAccess: return 0x0800
        case .writeExclusive: return 0x0200
        case .exclusiveAccessAllRegistrants: return 0x0001
        }
    }
}

/// What a command does to the medium, as persistent reservations see it (SPC-4 table 54,
/// SBC-4 table 13).
enum MediumAccess: Sendable {
    /// Reads or reports: allowed through Write Exclusive reservations.
    case read
    /// Writes or changes state: conflicts with Write Exclusive and Exclusive Access.
    case write
}

/// The persistent reservation state of one LU: registrations, the reservation, PRGENERATION
/// and APTPL. It survives I_T nexus loss and resets; with APTPL it survives restarts too
/// (`LogicalUnitState.persistentReservationsSnapshot()`).
struct PersistentReservations: Sendable, Equatable {
    struct Registration: Sendable, Equatable {
        var key: UInt64
        /// The I_T nexus that registered: its initiator port, and its target port unless
        /// `allTargetPorts`.
        var nexus: NexusIdentity
        /// Registered with ALL_TG_PT=1: the registration covers the initiator port on every
        /// target port.
        var allTargetPorts: Bool

        func matches(_ other: NexusIdentity) -> Bool {
            other.isid == nexus.isid && other.initiatorName == nexus.initiatorName
                && (allTargetPorts || (other.relativeTargetPort == nexus.relativeTargetPort
                                       && other.targetPortName == nexus.targetPortName))
        }
    }

    struct Reservation: Sendable, Equatable {
        var type: PersistentReservationType
        /// The `nexus` of the holder's registration (unused for all-registrants types).
        var holder: NexusIdentity
    }

    /// In registration order (READ KEYS and READ FULL STATUS list them so).
    var registrations: [Registration] = []
    var reservation: Reservation?
    var generation: UInt32 = 0
    /// APTPL of the last REGISTER / REGISTER AND IGNORE EXISTING KEY.
    var persistThroughPowerLoss = false

    /// More registrations are refused with INSUFFICIENT REGISTRATION RESOURCES.
    static let registrationLimit = 1024

    func registrationIndex(for nexus: NexusIdentity) -> Int? {
        registrations.firstIndex { $0.matches(nexus) }
    }

    func isRegistered(_ nexus: NexusIdentity) -> Bool { registrationIndex(for: nexus) != nil }

    /// Whether the registration at `index` holds the reservation.
    func isHolder(registration index: Int) -> Bool {
        guard let reservation else { return false }
        return reservation.type.allRegistrants || registrations[index].nexus == reservation.holder
    }

    func isHolder(_ nexus: NexusIdentity) -> Bool {
        guard reservation != nil, let index = registrationIndex(for: nexus) else { return false }
        return isHolder(registration: index)
    }

    /// READ RESERVATION's RESERVATION KEY: the holder's key, or 0 for all-registrants types.
    var reservationKey: UInt64 {
        guard let reservation, !reservation.type.allRegistrants else { return 0 }
        return registrations.first { $0.nexus == reservation.holder }?.key ?? 0
    }

    /// SPC-4 5.12.1 and tables 54-55: may `nexus` access the medium this way?
    func permits(_ access: MediumAccess, from nexus: NexusIdentity) -> Bool {
        guard let reservation else { return true }
        guard let index = registrationIndex(for: nexus) else {
            return access == .read && !reservation.type.excludesReads
        }
        if isHolder(registration: index) || reservation.type.registrantsHaveAccess { return true }
        return access == .read && !reservation.type.excludesReads
    }
}
