import SCSI
import XCTest

/// SPC-2 RESERVE / RELEASE (6) and (10), as libiscsi's Reserve6 suite and ESXi use them.
final class ReserveReleaseTests: XCTestCase {
    let a = Fixture.nexusA
    let b = Fixture.nexusB
    static let reserve6: [UInt8] = [0x16, 0, 0, 0, 0, 0]
    static let release6: [UInt8] = [0x17, 0, 0, 0, 0, 0]
    static let reserve10: [UInt8] = [0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    static let release10: [UInt8] = [0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0]

    func testTwoInitiatorsLikeLibiscsi() {
        var state = Fixture.ready(nexuses: [a, b])
        XCTAssertEqual(send(Self.reserve6, from: a, state: &state), .good)
        XCTAssertEqual(send(Self.reserve6, from: a, state: &state), .good, "the holder may reserve again")
        XCTAssertEqual(state.reservationHolder, a)
        XCTAssertEqual(send(Self.reserve6, from: b, state: &state), .reservationConflict)
        XCTAssertEqual(send(Self.release6, from: b, state: &state), .good, "RELEASE by a non-holder: no effect")
        XCTAssertEqual(state.reservationHolder, a)
        XCTAssertTrue(isGood(send(Probe.modeSense6, from: a, state: &state)))
        XCTAssertEqual(send(Probe.modeSense6, from: b, state: &state), .reservationConflict)
        XCTAssertEqual(send(Self.reserve6, from: b, state: &state), .reservationConflict)
        XCTAssertEqual(send(Self.release6, from: a, state: &state), .good)
        XCTAssertNil(state.reservationHolder)
        XCTAssertEqual(send(Self.reserve6, from: b, state: &state), .good)
        XCTAssertEqual(send(Self.release6, from: b, state: &state), .good)
        XCTAssertNil(state.reservationHolder)
    }

    func testTenByteForms() {
        var state = Fixture.ready(nexuses: [a, b])
        XCTAssertEqual(send(Self.reserve10, from: a, state: &state), .good)
        XCTAssertEqual(send(Self.reserve6, from: b, state: &state), .reservationConflict)
        XCTAssertEqual(send(Self.release10, from: a, state: &state), .good)
        XCTAssertNil(state.reservationHolder)
        // Third-party reservations are not supported.
        assertInvalidField(send([0x56, 0x10, 0, 0x05, 0, 0, 0, 0, 0, 0], from: a, state: &state), byte: 1, bit: 4)
        assertInvalidField(send([0x57, 0x02, 0, 0, 0, 0, 0, 0, 0, 0], from: a, state: &state), byte: 1, bit: 1)
    }

    func testWhatOtherNexusesMayStillDo() {
        var state = Fixture.ready(nexuses: [a, b])
        XCTAssertEqual(send(Self.reserve6, from: a, state: &state), .good)
        let allowed: [[UInt8]] = [
            CDBBuilder.inquiry(),
            CDBBuilder.reportLUNs(),
            [0x03, 0, 0, 0, 18, 0],                            // REQUEST SENSE
            [0x1E, 0, 0, 0, 0, 0],                             // PREVENT ALLOW, PREVENT=0
            [0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],        // REPORT TARGET PORT GROUPS
        ]
        for cdb in allowed {
            XCTAssertTrue(isGood(send(cdb, from: b, state: &state)), "\(cdb) from another nexus")
        }
        let conflicting: [[UInt8]] = [
            Probe.testUnitReady, Probe.read10, Probe.write10, Probe.modeSense6,
            [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],                  // READ CAPACITY(10)
            CDBBuilder.readCapacity16(),
            CDBBuilder.ten(0x35, lba: 0, blocks: 0),            // SYNCHRONIZE CACHE(10)
            CDBBuilder.ten(0x34, lba: 0, blocks: 1),            // PRE-FETCH(10)
            [0x1B, 0, 0, 0, 0x01, 0],                           // START STOP UNIT
            [0x1E, 0, 0, 0, 1, 0],                              // PREVENT
            [0x15, 0x10, 0, 0, 0, 0],                           // MODE SELECT(6)
            CDBBuilder.rsoc(options: 0),
            PR.inCDB(0), PR.outCDB(PR.register),
        ]
        for cdb in conflicting {
            XCTAssertEqual(send(cdb, from: b, state: &state), .reservationConflict, "\(cdb) from another nexus")
        }
        // The holder may do everything but persistent reservations (spc2r20 5.5.1).
        for cdb in conflicting.dropLast(2) {
            XCTAssertNotEqual(send(cdb, from: a, state: &state), .reservationConflict, "\(cdb) from the holder")
        }
        XCTAssertEqual(send(PR.inCDB(0), from: a, state: &state), .reservationConflict)
        XCTAssertEqual(send(PR.outCDB(PR.register), from: a, state: &state), .reservationConflict)
    }

    func testReleasedByNexusLossOfTheHolderOnly() {
        var state = Fixture.ready(nexuses: [a, b])
        XCTAssertEqual(send(Self.reserve6, from: a, state: &state), .good)
        state.nexusLost(b)
        XCTAssertEqual(state.reservationHolder, a)
        state.nexusLost(a)
        XCTAssertNil(state.reservationHolder)
        XCTAssertEqual(send(Self.reserve6, from: b, state: &state), .checkCondition(.itNexusLossOccurred))
        XCTAssertEqual(send(Self.reserve6, from: b, state: &state), .good)
    }

    func testReleasedByResets() {
        var state = Fixture.ready(nexuses: [a, b])
        XCTAssertEqual(send(Self.reserve6, from: a, state: &state), .good)
        state.logicalUnitReset(by: a)
        XCTAssertNil(state.reservationHolder)
        XCTAssertEqual(send(Self.reserve6, from: a, state: &state), .checkCondition(.busDeviceResetOccurred))
        XCTAssertEqual(send(Self.reserve6, from: a, state: &state), .good)
        state.targetReset(by: b)
        XCTAssertNil(state.reservationHolder)
    }

    func testPersistentReservationExceptions() {
        // SPC-3 5.6.3 (CRH=1): with a persistent reservation, the holder's RESERVE/RELEASE
        // succeed without effect and anyone else's conflict; registrations alone do not matter.
        var state = Fixture.ready(nexuses: [a, b])
        PR.out(PR.registerAndIgnore, serviceActionKey: 0xA, from: a, state: &state)
        XCTAssertEqual(send(Self.reserve6, from: b, state: &state), .good)
        XCTAssertEqual(send(Self.release6, from: b, state: &state), .good)
        XCTAssertEqual(PR.out(PR.reserve, type: PR.writeExclusive, key: 0xA, from: a, state: &state), .good)
        XCTAssertEqual(send(Self.reserve6, from: a, state: &state), .good)
        XCTAssertNil(state.reservationHolder)
        XCTAssertEqual(send(Self.release6, from: a, state: &state), .good)
        XCTAssertNotNil(PR.readReservation(a, &state), "the persistent reservation stays")
        XCTAssertEqual(send(Self.reserve6, from: b, state: &state), .reservationConflict)
        XCTAssertEqual(send(Self.release6, from: b, state: &state), .reservationConflict)
    }

    func testReservationsAreCheckedAgainWhenTheParameterListArrives() {
        var state = Fixture.ready(nexuses: [a, b])
        let register = PR.outCDB(PR.registerAndIgnore)
        XCTAssertEqual(decodeOnly(register, from: b, state: &state), .parameterData(length: 24))
        XCTAssertEqual(send(Self.reserve6, from: a, state: &state), .good)   // runs in between
        XCTAssertEqual(SCSICommandDecoder.complete(CDB(register), parameters: PR.list(serviceActionKey: 5),
                                                   lu: Fixture.lu(), state: &state, context: Fixture.context(b)),
                       .reservationConflict)
        XCTAssertEqual(send(Self.release6, from: a, state: &state), .good)
        XCTAssertEqual(PR.readKeys(b, &state).1, [])
        // A command without a parameter list has no second phase.
        XCTAssertEqual(SCSICommandDecoder.complete(CDB(Probe.testUnitReady), parameters: [], lu: Fixture.lu(),
                                                   state: &state, context: Fixture.context(a)),
                       .checkCondition(.invalidOpcode))
    }
}
