import SCSI
import XCTest

/// PERSISTENT RESERVE IN/OUT (SPC-4 5.12, 6.16, 6.17), following libiscsi's Prin*/Prout* suites.
final class PersistentReservationTests: XCTestCase {
    let a = Fixture.nexusA
    let b = Fixture.nexusB
    let keyA: UInt64 = 0x1111_2222_3333_4444
    let keyB: UInt64 = 0x5555_6666_7777_8888

    func ready() -> LogicalUnitState { Fixture.ready(nexuses: [a, b]) }

    // MARK: Registration

    func testRegisterLikeLibiscsi() {
        var state = ready()
        XCTAssertEqual(PR.readKeys(a, &state).1, [])
        XCTAssertEqual(PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state), .good)
        XCTAssertEqual(PR.readKeys(b, &state).1, [keyA], "visible from any nexus")
        // REGISTER with a wrong RESERVATION KEY (0) while registered.
        XCTAssertEqual(PR.out(PR.register, serviceActionKey: keyA + 1, from: a, state: &state), .reservationConflict)
        // Unregister.
        XCTAssertEqual(PR.out(PR.register, key: keyA, from: a, state: &state), .good)
        XCTAssertEqual(PR.readKeys(a, &state).1, [])
    }

    func testRegisterRules() {
        var state = ready()
        // Not registered: a non-zero RESERVATION KEY conflicts; SARK 0 does nothing.
        XCTAssertEqual(PR.out(PR.register, key: 7, serviceActionKey: keyA, from: a, state: &state), .reservationConflict)
        let generation = PR.readKeys(a, &state).0
        XCTAssertEqual(PR.out(PR.register, from: a, state: &state), .good)
        XCTAssertEqual(PR.readKeys(a, &state).0, generation, "a no-op does not count")
        XCTAssertEqual(PR.out(PR.register, serviceActionKey: keyA, from: a, state: &state), .good)
        XCTAssertEqual(PR.readKeys(a, &state).0, generation + 1)
        // Change the key.
        XCTAssertEqual(PR.out(PR.register, key: keyA, serviceActionKey: keyB, from: a, state: &state), .good)
        XCTAssertEqual(PR.readKeys(a, &state).1, [keyB])
        // REGISTER AND IGNORE EXISTING KEY ignores the RESERVATION KEY.
        XCTAssertEqual(PR.out(PR.registerAndIgnore, key: 99, serviceActionKey: keyA, from: a, state: &state), .good)
        XCTAssertEqual(PR.readKeys(a, &state).1, [keyA])
        XCTAssertEqual(PR.readKeys(a, &state).0, generation + 3)
        // Two nexuses may register the same key; each registration is listed.
        XCTAssertEqual(PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: b, state: &state), .good)
        XCTAssertEqual(PR.readKeys(a, &state).1, [keyA, keyA])
    }

    func testRegistrationIsPerISID() {
        // INTEROP: the initiator port name includes the ISID; a new session is a new nexus.
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        var otherSession = a
        otherSession.isid ^= 0x10
        state = Fixture.ready(state, nexuses: [otherSession])
        XCTAssertEqual(PR.out(PR.reserve, type: PR.writeExclusive, key: keyA, from: otherSession, state: &state),
                       .reservationConflict, "not registered on this nexus")
        XCTAssertEqual(PR.out(PR.reserve, type: PR.writeExclusive, key: keyA, from: a, state: &state), .good)
    }

    func testRegistrationsSurviveNexusLossAndResets() {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        PR.out(PR.reserve, type: PR.exclusiveAccess, key: keyA, from: a, state: &state)
        state.nexusLost(a)
        state.logicalUnitReset(by: b)
        state.targetReset()
        _ = send(Probe.testUnitReady, from: b, state: &state)
        XCTAssertEqual(PR.readKeys(b, &state).1, [keyA])
        XCTAssertEqual(PR.readReservation(b, &state)?.0, keyA)
        // The same nexus (same ISID) logs in again and still holds the reservation.
        _ = send(Probe.testUnitReady, from: a, state: &state)
        XCTAssertTrue(isGood(send(Probe.write10, from: a, state: &state)))
        XCTAssertEqual(send(Probe.read10, from: b, state: &state), .reservationConflict)
    }

    func testAllTargetPorts() {
        var state = ready()
        var otherPort = a
        otherPort.relativeTargetPort = 2
        otherPort.targetPortName = NexusIdentity.targetPortName(targetName: Fixture.targetName, portalGroupTag: 2)
        state = Fixture.ready(state, nexuses: [otherPort])
        // Without ALL_TG_PT the registration is for one target port.
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        XCTAssertEqual(PR.out(PR.reserve, type: PR.writeExclusive, key: keyA, from: otherPort, state: &state),
                       .reservationConflict)
        PR.out(PR.register, key: keyA, from: a, state: &state)
        // With ALL_TG_PT it covers the initiator port everywhere.
        XCTAssertEqual(PR.out(PR.registerAndIgnore, serviceActionKey: keyA, flags: 0x04, from: a, state: &state), .good)
        XCTAssertEqual(PR.out(PR.reserve, type: PR.writeExclusive, key: keyA, from: otherPort, state: &state), .good)
        XCTAssertTrue(isGood(send(Probe.write10, from: a, state: &state)), "same registration, same holder")
        let status = dataIn(send(PR.inCDB(3), from: b, state: &state))
        XCTAssertEqual(status[8 + 12], 0x03, "ALL_TG_PT and R_HOLDER")
    }

    func testParameterListChecks() {
        var state = ready()
        XCTAssertEqual(send(PR.outCDB(PR.register, length: 0), from: a, state: &state), .checkCondition(.parameterListLengthError))
        XCTAssertEqual(send(PR.outCDB(PR.register, length: 20), from: a, state: &state), .checkCondition(.parameterListLengthError))
        XCTAssertEqual(send(PR.outCDB(PR.reserve, type: 1, length: 28), from: a, state: &state),
                       .checkCondition(.parameterListLengthError))
        XCTAssertEqual(decodeOnly(PR.outCDB(PR.register, length: 24), from: a, state: &state), .parameterData(length: 24))
        // SPEC_I_PT is not supported (REPORT CAPABILITIES SIP_C=0).
        let specified = PR.list(serviceActionKey: keyA, flags: 0x08) + [0, 0, 0, 24] + [UInt8](repeating: 0, count: 24)
        XCTAssertEqual(send(PR.outCDB(PR.register, length: UInt32(specified.count)), parameters: specified, from: a, state: &state),
                       .checkCondition(.invalidFieldInParameterList(byte: 20, bit: 3)))
        XCTAssertEqual(PR.out(PR.registerAndIgnore, serviceActionKey: keyA, flags: 0x08, from: a, state: &state),
                       .checkCondition(.invalidFieldInParameterList(byte: 20, bit: 3)))
        let longer = PR.list(serviceActionKey: keyA) + [0, 0, 0, 0]
        XCTAssertEqual(send(PR.outCDB(PR.register, length: 28), parameters: longer, from: a, state: &state),
                       .checkCondition(.parameterListLengthError))
        // Short Data-Out (EDTL below the list length).
        XCTAssertEqual(SCSICommandDecoder.complete(CDB(PR.outCDB(PR.register)), parameters: [0, 0, 0], lu: Fixture.lu(),
                                                   state: &state, context: Fixture.context(a)),
                       .checkCondition(.parameterListLengthError))
        // Scope and type.
        assertInvalidField(send(PR.outCDB(PR.reserve, type: 1, scope: 1), from: a, state: &state), byte: 2, bit: 7)
        assertInvalidField(send(PR.outCDB(PR.reserve, type: 2), from: a, state: &state), byte: 2, bit: 3)
        assertInvalidField(send(PR.outCDB(PR.preempt, type: 0), from: a, state: &state), byte: 2, bit: 3)
        XCTAssertEqual(decodeOnly(PR.outCDB(PR.clear, type: 0x0F), from: a, state: &state), .parameterData(length: 24),
                       "CLEAR ignores TYPE")
        // REGISTER AND MOVE and unknown service actions.
        assertInvalidField(send(PR.outCDB(7), from: a, state: &state), byte: 1, bit: 4)
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [])
        XCTAssertEqual(PR.readKeys(a, &state).1, [])
    }

    // MARK: PERSISTENT RESERVE IN

    func testServiceActionRange() {
        var state = ready()
        for action: UInt8 in 0...3 { XCTAssertTrue(isGood(send(PR.inCDB(action, allocation: 16384), from: a, state: &state))) }
        for action: UInt8 in 4...0x1F {
            assertInvalidField(send(PR.inCDB(action, allocation: 16384), from: a, state: &state), byte: 1, bit: 4)
        }
    }

    func testReadKeysTruncation() {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        let data = dataIn(send(PR.inCDB(0, allocation: 8), from: a, state: &state))
        XCTAssertEqual(data.count, 8)
        XCTAssertEqual(CDBBuilder.value(data[4..<8]), 8, "ADDITIONAL LENGTH is not cut by the allocation length")
        let full = dataIn(send(PR.inCDB(0), from: a, state: &state))
        XCTAssertEqual(full.count, 16)
        XCTAssertEqual(CDBBuilder.value(full[8..<16]), keyA)
    }

    func testReportCapabilities() {
        var state = ready()
        let data = dataIn(send(PR.inCDB(2), from: a, state: &state))
        XCTAssertEqual(data.count, 8)
        XCTAssertEqual(Array(data[0...1]), [0, 8], "LENGTH")
        XCTAssertEqual(data[2], 0x15, "CRH, ATP_C, PTPL_C; no SIP_C, no RLR_C")
        XCTAssertEqual(data[3] & 0x80, 0x80, "TMV")
        XCTAssertLessThanOrEqual((data[3] >> 4) & 0x07, 5, "ALLOW COMMANDS (libiscsi: <= 5)")
        XCTAssertEqual(data[3] & 0x01, 0, "PTPL_A off")
        XCTAssertEqual(Array(data[4...5]), [0xEA, 0x01], "all six types")
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, flags: 0x01, from: a, state: &state)
        XCTAssertEqual(dataIn(send(PR.inCDB(2), from: a, state: &state))[3] & 0x01, 1, "PTPL_A after APTPL=1")
    }

    func testReserveReleaseEveryType() {
        // libiscsi ProutReserve.Simple and PrinReportCapabilities.Simple.
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        let generation = PR.readKeys(a, &state).0
        for type in PR.allTypes {
            XCTAssertEqual(PR.out(PR.reserve, type: type, key: keyA, from: a, state: &state), .good)
            let reservation = PR.readReservation(a, &state)
            XCTAssertEqual(reservation?.0, type >= 7 ? 0 : keyA, "all-registrants reservations report key 0")
            XCTAssertEqual(reservation?.1, type, "SCOPE 0, TYPE")
            XCTAssertEqual(PR.out(PR.release, type: type, key: keyA, from: a, state: &state), .good)
            XCTAssertNil(PR.readReservation(a, &state))
        }
        XCTAssertEqual(PR.readKeys(a, &state).0, generation, "RESERVE and RELEASE do not change PRGENERATION")
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [])
    }

    func testReserveConflictsAndRelease() {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state)
        XCTAssertEqual(PR.out(PR.reserve, type: PR.writeExclusive, key: keyB, from: a, state: &state), .reservationConflict,
                       "wrong key")
        XCTAssertEqual(PR.out(PR.reserve, type: PR.writeExclusive, key: keyA, from: a, state: &state), .good)
        XCTAssertEqual(PR.out(PR.reserve, type: PR.writeExclusive, key: keyA, from: a, state: &state), .good, "again")
        XCTAssertEqual(PR.out(PR.reserve, type: PR.exclusiveAccess, key: keyA, from: a, state: &state), .reservationConflict,
                       "the holder may not change the type")
        XCTAssertEqual(PR.out(PR.reserve, type: PR.writeExclusive, key: keyB, from: b, state: &state), .reservationConflict)
        // RELEASE: a registered non-holder changes nothing; a wrong type is an error.
        XCTAssertEqual(PR.out(PR.release, type: PR.writeExclusive, key: keyB, from: b, state: &state), .good)
        XCTAssertNotNil(PR.readReservation(a, &state))
        XCTAssertEqual(PR.out(PR.release, type: PR.exclusiveAccess, key: keyA, from: a, state: &state),
                       .checkCondition(.invalidReleaseOfPersistentReservation))
        XCTAssertEqual(PR.out(PR.release, type: PR.writeExclusive, key: keyB, from: a, state: &state), .reservationConflict)
        var stranger = b
        stranger.initiatorName += "-x"
        state = Fixture.ready(state, nexuses: [stranger])
        XCTAssertEqual(PR.out(PR.release, type: PR.writeExclusive, from: stranger, state: &state), .reservationConflict)
        XCTAssertEqual(PR.out(PR.release, type: PR.writeExclusive, key: keyA, from: a, state: &state), .good)
        XCTAssertNil(PR.readReservation(a, &state))
        XCTAssertEqual(PR.out(PR.release, type: PR.writeExclusive, key: keyA, from: a, state: &state), .good,
                       "nothing to release")
    }

    // MARK: Access rules (SPC-4 tables 54/55, SBC-4 table 13; libiscsi ProutReserve.Access*)

    /// (type, registered non-holder may read, may write, unregistered may read, may write)
    static let accessTable: [(UInt8, Bool, Bool, Bool, Bool)] = [
        (PR.exclusiveAccess, false, false, false, false),
        (PR.writeExclusive, true, false, true, false),
        (PR.exclusiveAccessRegistrantsOnly, true, true, false, false),
        (PR.writeExclusiveRegistrantsOnly, true, true, true, false),
        (PR.exclusiveAccessAllRegistrants, true, true, false, false),
        (PR.writeExclusiveAllRegistrants, true, true, true, false),
    ]

    func testAccessRulesForEveryType() {
        for (type, registeredRead, registeredWrite, unregisteredRead, unregisteredWrite) in Self.accessTable {
            var state = ready()
            PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
            PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state)
            XCTAssertEqual(PR.out(PR.reserve, type: type, key: keyA, from: a, state: &state), .good)
            XCTAssertTrue(isGood(send(Probe.read10, from: a, state: &state)), "holder reads, type \(type)")
            XCTAssertTrue(isGood(send(Probe.write10, from: a, state: &state)), "holder writes, type \(type)")
            XCTAssertEqual(isGood(send(Probe.read10, from: b, state: &state)), registeredRead, "type \(type)")
            XCTAssertEqual(isGood(send(Probe.write10, from: b, state: &state)), registeredWrite, "type \(type)")
            XCTAssertEqual(PR.out(PR.register, key: keyB, from: b, state: &state), .good, "unregister, type \(type)")
            XCTAssertEqual(isGood(send(Probe.read10, from: b, state: &state)), unregisteredRead, "type \(type)")
            let write = send(Probe.write10, from: b, state: &state)
            XCTAssertEqual(isGood(write), unregisteredWrite, "type \(type)")
            if !unregisteredWrite { XCTAssertEqual(write, .reservationConflict) }
            XCTAssertEqual(PR.out(PR.release, type: type, key: keyA, from: a, state: &state), .good)
            XCTAssertEqual(PR.out(PR.register, key: keyA, from: a, state: &state), .good)
            XCTAssertEqual(state.pendingUnitAttentions(for: a), [], "type \(type)")
            XCTAssertEqual(state.pendingUnitAttentions(for: b), [], "type \(type)")
        }
    }

    func testCommandClassesUnderReservations() {
        // Non-registered nexus B against a reservation held by A.
        let alwaysAllowed: [[UInt8]] = [
            Probe.testUnitReady, CDBBuilder.inquiry(), CDBBuilder.reportLUNs(), [0x03, 0, 0, 0, 18, 0],
            [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], CDBBuilder.readCapacity16(),
            [0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], PR.inCDB(0), PR.inCDB(1), PR.inCDB(2), PR.inCDB(3),
            [0x1E, 0, 0, 0, 0, 0], [0x1B, 0, 0, 0, 0x01, 0],
        ]
        let readLike: [[UInt8]] = [
            Probe.read10, CDBBuilder.six(0x08, lba: 0, blocks: 1), CDBBuilder.sixteen(0x8F, lba: 0, blocks: 1),
            CDBBuilder.ten(0x34, lba: 0, blocks: 1), Probe.modeSense6, CDBBuilder.modeSense10(page: 0x08),
            [0x37, 0, 0, 0, 0, 0, 0, 0, 32, 0], CDBBuilder.rsoc(options: 0),
        ]
        let writeLike: [[UInt8]] = [
            Probe.write10, CDBBuilder.ten(0x2E, lba: 0, blocks: 1), CDBBuilder.ten(0x35, lba: 0, blocks: 0),
            [0x15, 0x10, 0, 0, 0, 0], [0x1B, 0, 0, 0, 0x00, 0], [0x1B, 0, 0, 0, 0x11, 0], [0x1E, 0, 0, 0, 1, 0],
        ]
        for type in [PR.writeExclusive, PR.exclusiveAccess] {
            var state = ready()
            PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
            PR.out(PR.reserve, type: type, key: keyA, from: a, state: &state)
            for cdb in alwaysAllowed {
                XCTAssertNotEqual(send(cdb, from: b, state: &state), .reservationConflict, "\(cdb), type \(type)")
            }
            for cdb in readLike {
                let action = send(cdb, from: b, state: &state)
                if type == PR.writeExclusive {
                    XCTAssertNotEqual(action, .reservationConflict, "\(cdb) through Write Exclusive")
                } else {
                    XCTAssertEqual(action, .reservationConflict, "\(cdb) through Exclusive Access")
                }
            }
            for cdb in writeLike {
                XCTAssertEqual(send(cdb, from: b, state: &state), .reservationConflict, "\(cdb), type \(type)")
            }
            // Reservation conflicts are checked before readiness.
            state.stopped = true
            XCTAssertEqual(send(Probe.write10, from: b, state: &state), .reservationConflict)
        }
    }

    // MARK: Ownership (libiscsi ProutReserve.Ownership*)

    func testHolderUnregisteringReleasesTheReservation() {
        for type in PR.allTypes {
            var state = ready()
            PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
            PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state)
            PR.out(PR.reserve, type: type, key: keyA, from: a, state: &state)
            XCTAssertEqual(PR.out(PR.register, key: keyA, from: a, state: &state), .good)
            let shared = type >= 7
            if shared {
                XCTAssertEqual(PR.readReservation(a, &state)?.1, type, "still held by the other registrant")
                XCTAssertEqual(PR.out(PR.release, type: type, key: keyB, from: b, state: &state), .good)
            } else {
                XCTAssertNil(PR.readReservation(a, &state))
            }
            XCTAssertEqual(state.pendingUnitAttentions(for: a), [], "the unregistered nexus is told nothing (type \(type))")
            let registrantsOnly = type == 5 || type == 6
            XCTAssertEqual(state.pendingUnitAttentions(for: b), registrantsOnly ? [.reservationsReleased] : [],
                           "type \(type)")
        }
    }

    func testLastRegistrantLeavingEndsAllRegistrantsReservation() {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        PR.out(PR.reserve, type: PR.exclusiveAccessAllRegistrants, key: keyA, from: a, state: &state)
        PR.out(PR.register, key: keyA, from: a, state: &state)
        XCTAssertNil(PR.readReservation(a, &state))
    }

    func testReleaseNotifiesOtherRegistrantsForSharedTypes() {
        for type in PR.allTypes {
            var state = ready()
            PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
            PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state)
            PR.out(PR.reserve, type: type, key: keyA, from: a, state: &state)
            XCTAssertEqual(PR.out(PR.release, type: type, key: keyA, from: a, state: &state), .good)
            XCTAssertEqual(state.pendingUnitAttentions(for: a), [])
            XCTAssertEqual(state.pendingUnitAttentions(for: b), type >= 5 ? [.reservationsReleased] : [], "type \(type)")
        }
    }

    // MARK: CLEAR, PREEMPT

    func testClearLikeLibiscsi() {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state)
        let generation = PR.readKeys(a, &state).0
        PR.out(PR.reserve, type: PR.exclusiveAccess, key: keyA, from: a, state: &state)
        XCTAssertEqual(PR.out(PR.clear, key: keyB + 1, from: b, state: &state), .reservationConflict)
        XCTAssertEqual(PR.out(PR.clear, key: keyA, from: a, state: &state), .good)
        XCTAssertNil(PR.readReservation(a, &state))
        let (newGeneration, keys) = PR.readKeys(a, &state)
        XCTAssertEqual(keys, [])
        XCTAssertEqual(newGeneration, generation + 1)
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [])
        XCTAssertEqual(state.pendingUnitAttentions(for: b), [.reservationsPreempted])
    }

    func testPreemptRemovesRegistrationLikeLibiscsi() {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state)
        let generation = PR.readKeys(a, &state).0
        XCTAssertEqual(PR.out(PR.preempt, type: PR.exclusiveAccess, key: keyB, serviceActionKey: keyA, from: b, state: &state),
                       .good)
        XCTAssertEqual(send(Probe.testUnitReady, from: a, state: &state), .checkCondition(.registrationsPreempted))
        XCTAssertEqual(send(Probe.testUnitReady, from: a, state: &state), .good)
        XCTAssertEqual(send(Probe.testUnitReady, from: b, state: &state), .good)
        let (newGeneration, keys) = PR.readKeys(a, &state)
        XCTAssertEqual(keys, [keyB])
        XCTAssertEqual(newGeneration, generation + 1)
        XCTAssertNil(PR.readReservation(a, &state), "no reservation was created")
    }

    func testPreemptErrors() {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state)
        XCTAssertEqual(PR.out(PR.preempt, type: 1, key: 1, serviceActionKey: keyA, from: b, state: &state), .reservationConflict,
                       "wrong own key")
        XCTAssertEqual(PR.out(PR.preempt, type: 1, key: keyB, serviceActionKey: 0x999, from: b, state: &state),
                       .reservationConflict, "no such registration")
        XCTAssertEqual(PR.out(PR.preempt, type: 1, key: keyB, from: b, state: &state),
                       .checkCondition(.invalidFieldInParameterList(byte: 8)), "SARK 0 without an all-registrants reservation")
        PR.out(PR.reserve, type: PR.writeExclusive, key: keyA, from: a, state: &state)
        XCTAssertEqual(PR.out(PR.preempt, type: 1, key: keyB, from: b, state: &state),
                       .checkCondition(.invalidFieldInParameterList(byte: 8)))
        XCTAssertEqual(PR.readKeys(a, &state).1, [keyA, keyB])
    }

    func testPreemptTheReservation() {
        var state = ready()
        var c = b
        c.initiatorName += "-c"
        state = Fixture.ready(state, nexuses: [c])
        let keyC: UInt64 = 0xCCCC
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyC, from: c, state: &state)
        PR.out(PR.reserve, type: PR.writeExclusive, key: keyA, from: a, state: &state)
        XCTAssertEqual(PR.out(PR.preempt, type: PR.exclusiveAccessRegistrantsOnly, key: keyB, serviceActionKey: keyA,
                              from: b, state: &state), .good)
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [.registrationsPreempted])
        XCTAssertEqual(state.pendingUnitAttentions(for: b), [])
        XCTAssertEqual(state.pendingUnitAttentions(for: c), [.reservationsReleased], "the type changed")
        XCTAssertEqual(PR.readReservation(b, &state)?.0, keyB)
        XCTAssertEqual(PR.readReservation(b, &state)?.1, PR.exclusiveAccessRegistrantsOnly)
        XCTAssertEqual(PR.readKeys(b, &state).1, [keyB, keyC])
        XCTAssertEqual(send(PR.inCDB(0), from: c, state: &state), .checkCondition(.reservationsReleased),
                       "PERSISTENT RESERVE IN reports a pending unit attention too")
        XCTAssertTrue(isGood(send(Probe.write10, from: b, state: &state)))
    }

    func testPreemptAllRegistrantsWithZeroKey() {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state)
        PR.out(PR.reserve, type: PR.writeExclusiveAllRegistrants, key: keyA, from: a, state: &state)
        XCTAssertEqual(PR.out(PR.preempt, type: PR.writeExclusive, key: keyB, serviceActionKey: 0, from: b, state: &state), .good)
        XCTAssertEqual(PR.readKeys(b, &state).1, [keyB])
        XCTAssertEqual(PR.readReservation(b, &state)?.0, keyB)
        XCTAssertEqual(PR.readReservation(b, &state)?.1, PR.writeExclusive)
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [.registrationsPreempted])
        // A non-zero key against an all-registrants reservation only removes registrations.
        var state2 = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state2)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state2)
        PR.out(PR.reserve, type: PR.exclusiveAccessAllRegistrants, key: keyA, from: a, state: &state2)
        XCTAssertEqual(PR.out(PR.preempt, type: PR.writeExclusive, key: keyB, serviceActionKey: keyA, from: b, state: &state2), .good)
        XCTAssertEqual(PR.readReservation(b, &state2)?.1, PR.exclusiveAccessAllRegistrants)
        XCTAssertEqual(PR.readKeys(b, &state2).1, [keyB])
    }

    func testPreemptAndAbortNamesThePreemptedNexuses() {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state)
        PR.out(PR.reserve, type: PR.exclusiveAccess, key: keyA, from: a, state: &state)
        let action = PR.out(PR.preemptAndAbort, type: PR.exclusiveAccess, key: keyB, serviceActionKey: keyA,
                            from: b, state: &state)
        XCTAssertEqual(action, .abortTasks(of: [a]))
        XCTAssertEqual(action.direction, .none)
        XCTAssertEqual(action.transferLength(blockSize: 512), 0)
        XCTAssertEqual(PR.readReservation(b, &state)?.0, keyB)
        // Nothing to abort when the preempted registrant has no session here.
        var state2 = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state2)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state2)
        state2.nexusLost(a)
        XCTAssertEqual(PR.out(PR.preemptAndAbort, type: PR.exclusiveAccess, key: keyB, serviceActionKey: keyA,
                              from: b, state: &state2), .good)
    }

    // MARK: READ FULL STATUS

    func testReadFullStatus() {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, from: b, state: &state)
        PR.out(PR.reserve, type: PR.writeExclusiveRegistrantsOnly, key: keyB, from: b, state: &state)
        let data = dataIn(send(PR.inCDB(3), from: a, state: &state))
        XCTAssertEqual(Int(CDBBuilder.value(data[4..<8])), data.count - 8)
        var offset = 8
        var seen: [(UInt64, UInt8, UInt8, UInt16, [UInt8])] = []
        while offset < data.count {
            let length = Int(CDBBuilder.value(data[(offset + 20)..<(offset + 24)]))
            seen.append((CDBBuilder.value(data[offset..<(offset + 8)]), data[offset + 12], data[offset + 13],
                         UInt16(CDBBuilder.value(data[(offset + 18)..<(offset + 20)])),
                         Array(data[(offset + 24)..<(offset + 24 + length)])))
            offset += 24 + length
        }
        XCTAssertEqual(offset, data.count)
        XCTAssertEqual(seen.count, 2)
        XCTAssertEqual(seen[0].0, keyA)
        XCTAssertEqual(seen[0].1, 0, "not the holder")
        XCTAssertEqual(seen[0].2, 0)
        XCTAssertEqual(seen[0].3, 1, "relative target port")
        XCTAssertEqual(seen[0].4, a.transportID)
        XCTAssertEqual(seen[1].0, keyB)
        XCTAssertEqual(seen[1].1, 0x01, "R_HOLDER")
        XCTAssertEqual(seen[1].2, PR.writeExclusiveRegistrantsOnly)
        XCTAssertEqual(seen[1].4, b.transportID)
        // Truncated, with the full ADDITIONAL LENGTH.
        let short = dataIn(send(PR.inCDB(3, allocation: 10), from: a, state: &state))
        XCTAssertEqual(short, Array(data.prefix(10)))
    }

    // MARK: APTPL and snapshots

    func testSnapshotRoundTrip() throws {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, flags: 0x01, from: a, state: &state)
        XCTAssertTrue(state.persistentReservationsDirty)
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, flags: 0x05, from: b, state: &state)
        PR.out(PR.reserve, type: PR.exclusiveAccessRegistrantsOnly, key: keyB, from: b, state: &state)
        let snapshot = state.persistentReservationsSnapshot()
        state.persistentReservationsDirty = false

        var restored = LogicalUnitState()
        try restored.restorePersistentReservations(snapshot)
        XCTAssertFalse(restored.persistentReservationsDirty)
        XCTAssertEqual(restored.persistentReservationsSnapshot(), snapshot)
        restored = Fixture.ready(restored, nexuses: [a, b])
        XCTAssertEqual(PR.readKeys(a, &restored).0, PR.readKeys(a, &state).0, "PRGENERATION kept")
        XCTAssertEqual(PR.readKeys(a, &restored).1, [keyA, keyB])
        XCTAssertEqual(PR.readReservation(a, &restored)?.0, keyB)
        XCTAssertEqual(dataIn(send(PR.inCDB(3), from: a, state: &restored)), dataIn(send(PR.inCDB(3), from: a, state: &state)))
        XCTAssertEqual(send(Probe.write10, from: a, state: &restored), .write(lba: 1, blocks: 1, fua: false))
        var stranger = b
        stranger.isid ^= 1
        restored = Fixture.ready(restored, nexuses: [stranger])
        XCTAssertEqual(send(Probe.read10, from: stranger, state: &restored), .reservationConflict)
        // ALL_TG_PT survived.
        var otherPort = b
        otherPort.relativeTargetPort = 9
        restored = Fixture.ready(restored, nexuses: [otherPort])
        XCTAssertTrue(isGood(send(Probe.write10, from: otherPort, state: &restored)))
    }

    func testWithoutAPTPLNothingPersists() throws {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, from: a, state: &state)
        XCTAssertFalse(state.persistentReservationsDirty, "nothing to save")
        var restored = LogicalUnitState()
        try restored.restorePersistentReservations(state.persistentReservationsSnapshot())
        restored = Fixture.ready(restored, nexuses: [a])
        XCTAssertEqual(PR.readKeys(a, &restored).1, [])
        XCTAssertEqual(PR.readKeys(a, &restored).0, 0)

        // Turning APTPL off marks the state dirty once so that the old snapshot is replaced.
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, flags: 0x01, from: a, state: &state)
        state.persistentReservationsDirty = false
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, flags: 0x00, from: a, state: &state)
        XCTAssertTrue(state.persistentReservationsDirty)
        var cleared = LogicalUnitState()
        try cleared.restorePersistentReservations(state.persistentReservationsSnapshot())
        cleared = Fixture.ready(cleared, nexuses: [a])
        XCTAssertEqual(PR.readKeys(a, &cleared).1, [])
        // Failed commands and PERSISTENT RESERVE IN never dirty it.
        state.persistentReservationsDirty = false
        PR.out(PR.registerAndIgnore, serviceActionKey: keyB, flags: 0x01, from: a, state: &state)
        state.persistentReservationsDirty = false
        _ = PR.readKeys(a, &state)
        XCTAssertEqual(PR.out(PR.register, key: 1, serviceActionKey: 2, flags: 0x01, from: a, state: &state), .reservationConflict)
        XCTAssertFalse(state.persistentReservationsDirty)
    }

    func testSnapshotRejectsDamage() {
        var state = ready()
        PR.out(PR.registerAndIgnore, serviceActionKey: keyA, flags: 0x01, from: a, state: &state)
        PR.out(PR.reserve, type: PR.writeExclusive, key: keyA, from: a, state: &state)
        let snapshot = state.persistentReservationsSnapshot()
        var target = ready()
        let before = target
        XCTAssertThrowsError(try target.restorePersistentReservations([])) {
            XCTAssertEqual($0 as? PersistentReservationSnapshotError, .truncated)
        }
        XCTAssertThrowsError(try target.restorePersistentReservations(Array("NOPE".utf8) + snapshot.dropFirst(4))) {
            XCTAssertEqual($0 as? PersistentReservationSnapshotError, .badMagic)
        }
        var version = snapshot
        version[4] = 9
        XCTAssertThrowsError(try target.restorePersistentReservations(version)) {
            XCTAssertEqual($0 as? PersistentReservationSnapshotError, .unsupportedVersion(9))
        }
        for index in stride(from: 5, to: snapshot.count, by: 3) {
            var damaged = snapshot
            damaged[index] ^= 0x40
            XCTAssertThrowsError(try target.restorePersistentReservations(damaged), "byte \(index)")
        }
        for length in 5..<snapshot.count {
            XCTAssertThrowsError(try target.restorePersistentReservations(Array(snapshot.prefix(length))), "length \(length)")
        }
        XCTAssertEqual(target, before, "a refused snapshot changes nothing")
    }
}
