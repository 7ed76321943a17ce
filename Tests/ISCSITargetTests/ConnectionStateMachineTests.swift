import ISCSI
import NIOCore
@testable import ISCSITarget
import XCTest

/// The connection's protocol state with plain values: no channel, no registry.
final class ConnectionStateMachineTests: XCTestCase {
    static let target = "iqn.2026-12.org.targe.test:disk"

    struct Authority: LoginAuthority {
        var known = true
        func lookupTarget(named name: String) -> (name: String, alias: String?)? { known ? (target, nil) : nil }
        func authorize(initiator: String, target: String) -> LoginStatus { known ? .success : .targetNotFound }
        func admit(_ outcome: LoginOutcome) -> Result<UInt16, LoginStatus> { .success(7) }
        func authentication(for sessionType: SessionType) -> AuthenticationPolicy { .none }
    }

    func pdu(_ opcode: UInt8, flags: UInt8 = 0x80, itt: UInt32 = 1, cmdSN: UInt32 = 10, data: [UInt8] = []) -> PDU {
        PDU(header: BasicHeaderSegment(opcodeByte: opcode, flags: flags, dataSegmentLength: UInt32(data.count),
                                       lunOrSpecific: 0x0012_3456_7890 << 16, initiatorTaskTag: itt,
                                       word20: 1 << 16, word24: cmdSN),
            data: ByteBuffer(bytes: data))
    }

    /// A Login Request straight to the full feature phase (CSG 1, NSG 3, T).
    func login(target: String = ConnectionStateMachineTests.target, cmdSN: UInt32 = 10) -> PDU {
        let keys = TextParameters([(key: "InitiatorName", value: "iqn.2026-12.org.example:host"),
                                   (key: "TargetName", value: target), (key: "SessionType", value: "Normal")])
        return pdu(0x43, flags: 0x80 | 1 << 2 | 3, cmdSN: cmdSN, data: keys.encoded())
    }

    func fullFeature(discovery: Bool = false, firstTag: UInt32 = 1) -> ConnectionStateMachine {
        var machine = ConnectionStateMachine(offer: TargetOffer(), initialStatSN: 100)
        var parameters = OperationalParameters()
        parameters.maxBurstLength = 65_536
        machine.enterFullFeature(FullFeatureState(tsih: 7, cid: 1, initiatorName: "iqn.2026-12.org.example:host",
                                                  isDiscovery: discovery, firstTransferTag: firstTag),
                                 parameters: parameters)
        return machine
    }

    func testOnlyLoginRequestsBeforeLogin() {
        var machine = ConnectionStateMachine(offer: TargetOffer(), initialStatSN: 100)
        let command = pdu(0x01)
        guard case .close? = machine.screen(command.header) else { return XCTFail("a command before login closes") }
        guard case .close = machine.receive(command, authority: Authority()) else { return XCTFail() }
        XCTAssertNil(machine.screen(login().header), "a Login Request passes")
        XCTAssertTrue(machine.isLoggingIn)
    }

    func testLoginCompletesAndFixesTheSessionsFirstCmdSN() {
        var machine = ConnectionStateMachine(offer: TargetOffer(), initialStatSN: 100)
        guard case let .loginStep(.complete(response, outcome)) = machine.receive(login(cmdSN: 42), authority: Authority())
        else { return XCTFail("one request suffices") }
        XCTAssertEqual(response.tsih, 7)
        XCTAssertEqual(outcome.sessionType, .normal(targetName: Self.target))
        XCTAssertEqual(machine.leadingCmdSN, 42)
        XCTAssertTrue(machine.loginNumbers(window: 8) == (42, 49), "the login reports the window from its CmdSN")
        XCTAssertEqual(machine.takeStatSN(), 100)
        XCTAssertEqual(machine.statSN, 101)
    }

    func testAFailedLoginClosesTheConnection() {
        var machine = ConnectionStateMachine(offer: TargetOffer(), initialStatSN: 1)
        guard case let .loginStep(.fail(response, _)) = machine.receive(login(), authority: Authority(known: false))
        else { return XCTFail("unknown target") }
        XCTAssertEqual(response.status, .targetNotFound)
        XCTAssertEqual(machine.initiatorNameSoFar, "iqn.2026-12.org.example:host", "for the failure's log line")
        XCTAssertTrue(machine.loginNumbers(window: 8) == (10, 17), "and its response's numbers")
        machine.close()  // the handler, once the response is out
        XCTAssertTrue(machine.isClosing)
        guard case .none = machine.receive(login(), authority: Authority()) else { return XCTFail("nothing after") }
    }

    func testFullFeatureRoutesEachOpcode() {
        var machine = fullFeature()
        let authority = Authority()
        guard case .command = machine.receive(pdu(0x01), authority: authority) else { return XCTFail("SCSI") }
        guard case .dataOut = machine.receive(pdu(0x05), authority: authority) else { return XCTFail("Data-Out") }
        for opcode: UInt8 in [0x00, 0x02, 0x04, 0x06] {
            guard case .request = machine.receive(pdu(opcode), authority: authority) else {
                return XCTFail("opcode \(opcode) goes through the window")
            }
        }
        guard case .none = machine.receive(pdu(0x00, itt: reservedTag), authority: authority) else {
            return XCTFail("the answer to our ping asks for nothing")
        }
        guard case .reject(.protocolError, _) = machine.receive(pdu(0x10), authority: authority) else {
            return XCTFail("SNACK at ErrorRecoveryLevel 0")
        }
        guard case .reject(.protocolError, _) = machine.receive(login(), authority: authority) else {
            return XCTFail("a second login")
        }
        guard case .reject(.commandNotSupported, _) = machine.receive(pdu(0x1F), authority: authority) else {
            return XCTFail("unknown opcode")
        }
        var discovery = fullFeature(discovery: true)
        guard case .reject(.protocolError, _) = discovery.receive(pdu(0x01), authority: authority) else {
            return XCTFail("no SCSI in a discovery session")
        }
    }

    func testTransferTagsSkipTheReservedValue() {
        var first = fullFeature()
        XCTAssertEqual(first.allocateTransferTag(), 1)
        XCTAssertEqual(first.allocateTransferTag(), 2)
        var machine = fullFeature(firstTag: reservedTag - 2)
        XCTAssertEqual(machine.allocateTransferTag(), reservedTag - 2)
        XCTAssertEqual(machine.allocateTransferTag(), reservedTag - 1)
        XCTAssertEqual(machine.allocateTransferTag(), 1, "0xffffffff is never a tag")
        XCTAssertEqual(machine.parameters.maxBurstLength, 65_536, "the negotiated values stay with the machine")
    }

    func testLivenessPingsAnIdleInitiatorAndGivesUpOnSilence() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var liveness = Liveness(interval: .seconds(5), timeout: .seconds(5), now: start)
        XCTAssertEqual(liveness.check(at: start + .seconds(4)), .wait)
        XCTAssertEqual(liveness.check(at: start + .seconds(5)), .ping)
        XCTAssertEqual(liveness.check(at: start + .seconds(9)), .wait, "one ping at a time")
        liveness.received(at: start + .seconds(9))
        XCTAssertEqual(liveness.check(at: start + .seconds(13)), .wait, "the answer restarts the interval")
        XCTAssertEqual(liveness.check(at: start + .seconds(14)), .ping)
        XCTAssertEqual(liveness.check(at: start + .seconds(19)), .gone)
    }
}
