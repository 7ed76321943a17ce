import SCSI
import XCTest

/// SPC-4 5.14 unit attention conditions, per I_T nexus.
final class UnitAttentionTests: XCTestCase {
    let a = Fixture.nexusA
    let b = Fixture.nexusB

    private func tur(_ nexus: NexusIdentity, _ state: inout LogicalUnitState) -> SCSIAction {
        send(Probe.testUnitReady, from: nexus, state: &state)
    }

    private func requestSense(_ nexus: NexusIdentity, _ state: inout LogicalUnitState) -> [UInt8] {
        dataIn(send([0x03, 0, 0, 0, 18, 0], from: nexus, state: &state))
    }

    func testNewNexusGetsPowerOnOnce() {
        var state = LogicalUnitState()
        XCTAssertEqual(tur(a, &state), .checkCondition(.powerOnReset))
        XCTAssertEqual(tur(a, &state), .good, "reported once")
        XCTAssertEqual(tur(b, &state), .checkCondition(.powerOnReset), "each nexus has its own")
        XCTAssertEqual(tur(b, &state), .good)
        // A different ISID of the same initiator is a different nexus.
        var otherSession = a
        otherSession.isid ^= 1
        XCTAssertEqual(tur(otherSession, &state), .checkCondition(.powerOnReset))
    }

    func testInquiryAndReportLUNsProceedRequestSenseReturnsIt() {
        var state = LogicalUnitState()
        XCTAssertFalse(dataIn(send(CDBBuilder.inquiry(), from: a, state: &state)).isEmpty)
        XCTAssertFalse(dataIn(send(CDBBuilder.reportLUNs(), from: a, state: &state)).isEmpty)
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [.powerOnReset], "still pending")
        let sense = requestSense(a, &state)
        XCTAssertEqual([sense[0], sense[2], sense[12], sense[13]], [0x70, 0x06, 0x29, 0x00])
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [])
        XCTAssertEqual(requestSense(a, &state), SenseData.noSense.fixedFormat())
        XCTAssertEqual(tur(a, &state), .good)
    }

    func testUnitAttentionWinsOverOtherErrors() {
        var state = LogicalUnitState()
        XCTAssertEqual(send([0xFF, 0, 0, 0, 0, 0], from: a, state: &state), .checkCondition(.powerOnReset),
                       "even an invalid opcode reports the unit attention first")
        XCTAssertEqual(send([0xFF, 0, 0, 0, 0, 0], from: a, state: &state), .checkCondition(.invalidOpcode))
    }

    func testOldestFirstAndNoDuplicates() {
        var state = Fixture.ready(nexuses: [a, b])
        state.establishUnitAttention(.capacityDataChanged)
        state.establishUnitAttention(.modeParametersChanged)
        state.establishUnitAttention(.capacityDataChanged)
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [.capacityDataChanged, .modeParametersChanged])
        XCTAssertEqual(tur(a, &state), .checkCondition(.capacityDataChanged))
        XCTAssertEqual(tur(a, &state), .checkCondition(.modeParametersChanged))
        XCTAssertEqual(tur(a, &state), .good)
        XCTAssertEqual(state.pendingUnitAttentions(for: b), [.capacityDataChanged, .modeParametersChanged])
    }

    func testEstablishExcept() {
        var state = Fixture.ready(nexuses: [a, b])
        state.establishUnitAttention(.reportedLUNsDataChanged, except: a)
        XCTAssertEqual(tur(a, &state), .good)
        XCTAssertEqual(tur(b, &state), .checkCondition(.reportedLUNsDataChanged))
    }

    func testCapacityChanged() {
        var state = Fixture.ready(nexuses: [a, b])
        state.capacityChanged()
        XCTAssertEqual(tur(a, &state), .checkCondition(.capacityDataChanged))
        XCTAssertEqual(tur(b, &state), .checkCondition(.capacityDataChanged))
    }

    func testLogicalUnitResetReachesEveryNexusIncludingTheIssuer() {
        var state = Fixture.ready(nexuses: [a, b])
        state.establishUnitAttention(.modeParametersChanged)
        state.logicalUnitReset(by: a)
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [.busDeviceResetOccurred], "a reset supersedes the queue")
        XCTAssertEqual(tur(a, &state), .checkCondition(.busDeviceResetOccurred))
        XCTAssertEqual(tur(b, &state), .checkCondition(.busDeviceResetOccurred))
        XCTAssertEqual(tur(b, &state), .good)
        // A nexus first seen after the reset gets the power-on condition.
        var c = a
        c.initiatorName = "iqn.2024-01.org.example:host-c"
        XCTAssertEqual(tur(c, &state), .checkCondition(.powerOnReset))
    }

    func testConditionsAfterAResetQueueBehindIt() {
        var state = Fixture.ready(nexuses: [a])
        state.logicalUnitReset()
        state.capacityChanged()
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [.busDeviceResetOccurred, .capacityDataChanged])
    }

    func testTargetResetUsesPowerOnResetCode() {
        // libiscsi's RESERVE6 helper tolerates 29/00 (and only it) after a target warm reset.
        var state = Fixture.ready(nexuses: [a, b])
        state.targetReset(by: b)
        XCTAssertEqual(tur(a, &state), .checkCondition(.powerOnReset))
        XCTAssertEqual(tur(b, &state), .checkCondition(.powerOnReset))
    }

    func testIssuerOfAResetBeforeItsFirstCommand() {
        var state = Fixture.ready(nexuses: [a])
        state.logicalUnitReset(by: b)
        XCTAssertEqual(state.pendingUnitAttentions(for: b), [.busDeviceResetOccurred])
    }

    func testNexusLossThenReturn() {
        var state = Fixture.ready(nexuses: [a, b])
        state.capacityChanged()
        state.nexusLost(a)
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [], "a lost nexus has no state")
        state.establishUnitAttention(.modeParametersChanged)
        XCTAssertEqual(tur(a, &state), .checkCondition(.itNexusLossOccurred), "the same nexus forms again")
        XCTAssertEqual(tur(a, &state), .good, "conditions of the old nexus are gone")
        XCTAssertEqual(tur(b, &state), .checkCondition(.capacityDataChanged))
    }

    func testLostNexusListIsBounded() {
        var state = LogicalUnitState()
        var nexuses: [NexusIdentity] = []
        for i in 0..<300 {
            var n = a
            n.isid = UInt64(i)
            nexuses.append(n)
            _ = tur(n, &state)
            state.nexusLost(n)
        }
        // The oldest fell off the list and count as new; recent ones are remembered.
        XCTAssertEqual(tur(nexuses[0], &state), .checkCondition(.powerOnReset))
        XCTAssertEqual(tur(nexuses[299], &state), .checkCondition(.itNexusLossOccurred))
    }

    func testDescriptorFormatRequestSense() {
        var state = LogicalUnitState()
        let sense = dataIn(send([0x03, 0x01, 0, 0, 252, 0], from: a, state: &state))
        XCTAssertEqual(Array(sense.prefix(4)), [0x72, 0x06, 0x29, 0x00])
    }
}
