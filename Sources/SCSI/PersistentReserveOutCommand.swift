/// SPC-4 6.17 PERSISTENT RESERVE OUT and 5.12 persistent reservations: REGISTER, RESERVE,
/// RELEASE, CLEAR, PREEMPT, PREEMPT AND ABORT and REGISTER AND IGNORE EXISTING KEY (REGISTER
/// AND MOVE and REPLACE LOST RESERVATION are not supported). A two-phase command: the CDB,
/// then the 24-byte parameter list.
///
/// Registrations belong to I_T nexuses (initiator port name with the ISID, and target port),
/// or to an initiator port on every target port with ALL_TG_PT=1. SPEC_I_PT is refused.
enum PersistentReserveOutCommand {
    enum ServiceAction: UInt8, CaseIterable {
        case register = 0x00, reserve = 0x01, release = 0x02, clear = 0x03, preempt = 0x04
        case preemptAndAbort = 0x05, registerAndIgnoreExistingKey = 0x06

        var name: String {
            switch self {
            case .register: return "PERSISTENT RESERVE OUT REGISTER"
            case .reserve: return "PERSISTENT RESERVE OUT RESERVE"
            case .release: return "PERSISTENT RESERVE OUT RELEASE"
            case .clear: return "PERSISTENT RESERVE OUT CLEAR"
            case .preempt: return "PERSISTENT RESERVE OUT PREEMPT"
            case .preemptAndAbort: return "PERSISTENT RESERVE OUT PREEMPT AND ABORT"
            case .registerAndIgnoreExistingKey: return "PERSISTENT RESERVE OUT REGISTER AND IGNORE EXISTING KEY"
            }
        }

        /// The SCOPE and TYPE fields matter (and are checked before the data transfer).
        var usesType: Bool {
            self == .reserve || self == .release || self == .preempt || self == .preemptAndAbort
        }
    }

    /// The basic parameter list (SPC-4 6.17.3).
    static let basicListLength = 24
    /// Longest list accepted from a REGISTER (whose SPEC_I_PT lists may follow the basic
    /// list, to be refused with INVALID FIELD IN PARAMETER LIST).
    static let maximumListLength = 65536

    static func decode(_ cdb: CDB, serviceAction: ServiceAction) -> SCSIAction {
        let scope = cdb[2] >> 4
        let type = cdb[2] & 0x0F
        let length = Int(cdb.u32(at: 5))
        if serviceAction.usesType {
            if scope != 0 { return .checkCondition(.invalidFieldInCDB(byte: 2, bit: 7)) }  // LU_SCOPE only
            if PersistentReservationType(rawValue: type) == nil {
                return .checkCondition(.invalidFieldInCDB(byte: 2, bit: 3))
            }
        }
        if length < basicListLength || length > maximumListLength
            || (length != basicListLength && serviceAction != .register) {
            return .checkCondition(.parameterListLengthError)
        }
        return .parameterData(length: length)
    }

    static func complete(_ cdb: CDB, serviceAction: ServiceAction, parameters: [UInt8],
                         state: inout LogicalUnitState, context: CommandContext) -> SCSIAction {
        guard parameters.count >= basicListLength else { return .checkCondition(.parameterListLengthError) }
        func key(at offset: Int) -> UInt64 {
            parameters[offset..<(offset + 8)].reduce(0) { $0 << 8 | UInt64($1) }
        }
        let list = ParameterList(reservationKey: key(at: 0), serviceActionKey: key(at: 8),
                                 allTargetPorts: parameters[20] & 0x04 != 0,
                                 persistThroughPowerLoss: parameters[20] & 0x01 != 0)
        if parameters[20] & 0x08 != 0 {  // SPEC_I_PT
            return .checkCondition(.invalidFieldInParameterList(byte: 20, bit: 3))
        }
        if parameters.count != basicListLength || Int(cdb.u32(at: 5)) != basicListLength {
            return .checkCondition(.parameterListLengthError)
        }
        let type = PersistentReservationType(rawValue: cdb[2] & 0x0F)
        if serviceAction.usesType && (type == nil || cdb[2] >> 4 != 0) {
            return .checkCondition(.invalidFieldInCDB(byte: 2, bit: type == nil ? 3 : 7))
        }
        let wasPersistent = state.persistentReservations.persistThroughPowerLoss
        var operation = Operation(state: state, sender: context.nexus)
        let action: SCSIAction
        switch serviceAction {
        case .register, .registerAndIgnoreExistingKey:
            action = operation.register(list, ignoringExistingKey: serviceAction == .registerAndIgnoreExistingKey)
        case .reserve:
            action = operation.reserve(list, type: type ?? .writeExclusive)
        case .release:
            action = operation.release(list, type: type ?? .writeExclusive)
        case .clear:
            action = operation.clear(list)
        case .preempt, .preemptAndAbort:
            action = operation.preempt(list, type: type ?? .writeExclusive, abort: serviceAction == .preemptAndAbort)
        }
        if operation.state.persistentReservations != state.persistentReservations,
           wasPersistent || operation.state.persistentReservations.persistThroughPowerLoss {
            operation.state.persistentReservationsDirty = true
        }
        state = operation.state
        return action
    }

    struct ParameterList {
        var reservationKey: UInt64
        var serviceActionKey: UInt64
        var allTargetPorts: Bool
        var persistThroughPowerLoss: Bool
    }

    /// One service action against a copy of the state (kept only on success).
    struct Operation {
        var state: LogicalUnitState
        let sender: NexusIdentity

        var pr: PersistentReservations {
            get { state.persistentReservations }
            set { state.persistentReservations = newValue }
        }

        /// The sender's registration, when its RESERVATION KEY matches it.
        func senderRegistration(_ list: ParameterList) -> Int? {
            guard let index = pr.registrationIndex(for: sender),
                  pr.registrations[index].key == list.reservationKey else { return nil }
            return index
        }

        /// Queues `sense` for every known nexus one of `registrations` covers, except the sender.
        mutating func notify(_ registrations: [PersistentReservations.Registration], _ sense: SenseData) {
            guard !registrations.isEmpty else { return }
            let sender = self.sender
            state.nexuses.post(sense) { nexus in
                nexus != sender && registrations.contains { $0.matches(nexus) }
            }
        }

        // MARK: REGISTER, REGISTER AND IGNORE EXISTING KEY (SPC-4 5.12.7)

        mutating func register(_ list: ParameterList, ignoringExistingKey: Bool) -> SCSIAction {
            if let index = pr.registrationIndex(for: sender) {
                if !ignoringExistingKey && pr.registrations[index].key != list.reservationKey {
                    return .reservationConflict
                }
                if list.serviceActionKey == 0 {
                    unregister(at: index)
                } else {
                    pr.registrations[index].key = list.serviceActionKey
                }
            } else {
                if !ignoringExistingKey && list.reservationKey != 0 { return .reservationConflict }
                // Unregistering a nexus that is not registered: GOOD, and nothing changes.
                if list.serviceActionKey == 0 { return .good }
                let port = sender.initiatorPort
                if list.allTargetPorts && pr.registrations.contains(where: { $0.nexus.initiatorPort == port }) {
                    return .reservationConflict  // the initiator port is already registered elsewhere
                }
                guard pr.registrations.count < PersistentReservations.registrationLimit else {
                    return .checkCondition(.insufficientRegistrationResources)
                }
                pr.registrations.append(.init(key: list.serviceActionKey, nexus: sender,
                                              allTargetPorts: list.allTargetPorts))
            }
            pr.persistThroughPowerLoss = list.persistThroughPowerLoss
            pr.generation &+= 1
            return .good
        }

        /// Removes a registration; a holder's departure releases a non-all-registrants
        /// reservation (registrants-only: RESERVATIONS RELEASED for the other registrants), and
        /// the last registrant's an all-registrants one.
        mutating func unregister(at index: Int) {
            let wasHolder = pr.isHolder(registration: index)
            pr.registrations.remove(at: index)
            guard wasHolder, let reservation = pr.reservation else { return }
            if reservation.type.allRegistrants {
                if pr.registrations.isEmpty { pr.reservation = nil }
            } else {
                pr.reservation = nil
                if reservation.type.registrantsHaveAccess {
                    notify(pr.registrations, .reservationsReleased)
                }
            }
        }

        // MARK: RESERVE (5.12.9), RELEASE (5.12.11.2), CLEAR (5.12.11.3)

        mutating func reserve(_ list: ParameterList, type: PersistentReservationType) -> SCSIAction {
            guard let index = senderRegistration(list) else { return .reservationConflict }
            if let reservation = pr.reservation {
                // The holder may repeat its own reservation; anything else conflicts.
                return pr.isHolder(registration: index) && reservation.type == type ? .good : .reservationConflict
            }
            pr.reservation = .init(type: type, holder: pr.registrations[index].nexus)
            return .good
        }

        mutating func release(_ list: ParameterList, type: PersistentReservationType) -> SCSIAction {
            guard let index = senderRegistration(list) else { return .reservationConflict }
            guard let reservation = pr.reservation, pr.isHolder(registration: index) else { return .good }
            guard reservation.type == type else {
                return .checkCondition(.invalidReleaseOfPersistentReservation)
            }
            pr.reservation = nil
            if reservation.type.registrantsHaveAccess {
                notify(pr.registrations, .reservationsReleased)
            }
            return .good
        }

        mutating func clear(_ list: ParameterList) -> SCSIAction {
            guard senderRegistration(list) != nil else { return .reservationConflict }
            notify(pr.registrations, .reservationsPreempted)
            pr.registrations = []
            pr.reservation = nil
            pr.generation &+= 1
            return .good
        }

        // MARK: PREEMPT, PREEMPT AND ABORT (5.12.11.4)

        mutating func preempt(_ list: ParameterList, type: PersistentReservationType, abort: Bool) -> SCSIAction {
            guard let senderIndex = senderRegistration(list) else { return .reservationConflict }
            let senderNexus = pr.registrations[senderIndex].nexus
            let target = list.serviceActionKey
            let removed: [PersistentReservations.Registration]
            if let reservation = pr.reservation,
               (reservation.type.allRegistrants && target == 0)
                || (!reservation.type.allRegistrants && target == pr.reservationKey) {
                // Preempt the reservation: drop the preempted registrations (all the others for
                // an all-registrants reservation), and reserve for the sender with the new type.
                removed = takeRegistrations { index, registration in
                    index != senderIndex && (reservation.type.allRegistrants || registration.key == target)
                }
                pr.reservation = .init(type: type, holder: senderNexus)
                if reservation.type != type {
                    notify(pr.registrations, .reservationsReleased)
                }
            } else {
                // Remove registrations only (no reservation, or one the key does not hold).
                if target == 0 { return .checkCondition(.invalidFieldInParameterList(byte: 8)) }
                removed = takeRegistrations { index, registration in
                    index != senderIndex && registration.key == target
                }
                if removed.isEmpty { return .reservationConflict }
            }
            notify(removed, .registrationsPreempted)
            pr.generation &+= 1
            guard abort else { return .good }
            let aborted = state.nexuses.active.keys
                .filter { nexus in nexus != sender && removed.contains { $0.matches(nexus) } }
                .sorted { ($0.initiatorPortName, $0.targetPortName) < ($1.initiatorPortName, $1.targetPortName) }
            return aborted.isEmpty ? .good : .abortTasks(of: aborted)
        }

        /// Removes and returns the registrations `selected` picks (by index before removal).
        mutating func takeRegistrations(
            _ selected: (Int, PersistentReservations.Registration) -> Bool
        ) -> [PersistentReservations.Registration] {
            var kept: [PersistentReservations.Registration] = []
            var taken: [PersistentReservations.Registration] = []
            for (index, registration) in pr.registrations.enumerated() {
                if selected(index, registration) { taken.append(registration) } else { kept.append(registration) }
            }
            pr.registrations = kept
            return taken
        }
    }
}
