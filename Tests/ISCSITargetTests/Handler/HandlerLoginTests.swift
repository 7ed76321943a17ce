import ISCSI
import ISCSITarget
import NIOCore
import XCTest

/// Login on a bare ConnectionHandler: stages, the full feature transition, negotiated keys,
/// failures, and a discovery session.
final class HandlerLoginTests: HandlerTestCase {
    func testSecurityThenOperationalLoginReachesFullFeature() throws {
        let h = harness!
        let declared: [(String, String)] = [("InitiatorName", HandlerHarness.initiatorName), ("SessionType", "Normal"),
                                            ("TargetName", HandlerHarness.targetName), ("AuthMethod", "None")]
        let (first, firstData) = h.loginRequest(csg: 0, nsg: 1, transit: true, keys: declared, itt: 0x7001)
        let security = try h.exchangeOne(first, data: firstData)
        XCTAssertEqual(security.opcode, .loginResponse)
        XCTAssertEqual(security.loginStatus.0, 0)
        XCTAssertEqual(security.loginStatus.1, 0)
        XCTAssertTrue(security.header.transit)
        XCTAssertEqual(security.header.currentStage, 0)
        XCTAssertEqual(security.header.nextStage, 1)
        XCTAssertEqual(security.header.initiatorTaskTag, 0x7001)
        XCTAssertEqual(security.header.isid, HandlerHarness.isid)
        XCTAssertEqual(security.header.tsih, 0, "no TSIH before the final response")
        XCTAssertEqual(security.keys["AuthMethod"], "None")
        XCTAssertEqual(security.keys["TargetPortalGroupTag"], "1")
        // ExpCmdSN is the Login Request's CmdSN; the window is open by the configured size.
        XCTAssertEqual(security.expCmdSN, h.cmdSN)
        XCTAssertEqual(security.maxCmdSN, h.cmdSN &+ 127)
        let firstStatSN = security.statSN

        let keys = HandlerHarness.operationalKeys([("MaxBurstLength", "16384"), ("FirstBurstLength", "65536"),
                                                   ("MaxRecvDataSegmentLength", "4096")])
        let (second, secondData) = h.loginRequest(csg: 1, nsg: 3, transit: true, keys: keys, itt: 0x7001)
        let operational = try h.exchangeOne(second, data: secondData)
        XCTAssertEqual(operational.opcode, .loginResponse)
        XCTAssertEqual(operational.loginStatus.0, 0)
        XCTAssertEqual(operational.loginStatus.1, 0)
        XCTAssertTrue(operational.header.transit, "T bit: to the full feature phase")
        XCTAssertEqual(operational.header.currentStage, 1)
        XCTAssertEqual(operational.header.nextStage, 3)
        XCTAssertNotEqual(operational.header.tsih, 0, "the final response carries the session's TSIH")
        XCTAssertEqual(operational.statSN, firstStatSN &+ 1)
        XCTAssertEqual(operational.expCmdSN, h.cmdSN)
        XCTAssertEqual(operational.maxCmdSN, h.cmdSN &+ 127)
        let answered = operational.keys
        XCTAssertEqual(answered["HeaderDigest"], "None")
        XCTAssertEqual(answered["DataDigest"], "None")
        XCTAssertEqual(answered["InitialR2T"], "Yes", "OR of the initiator's Yes and the target's No")
        XCTAssertEqual(answered["ImmediateData"], "No", "AND of the initiator's No and the target's Yes")
        XCTAssertEqual(answered["MaxBurstLength"], "16384", "the smaller of 16384 and the offer's 1 MiB")
        XCTAssertEqual(answered["FirstBurstLength"], "16384", "FirstBurstLength is clamped to MaxBurstLength")
        XCTAssertEqual(answered["MaxOutstandingR2T"], "1")
        XCTAssertEqual(answered["ErrorRecoveryLevel"], "0")
        XCTAssertEqual(answered["MaxRecvDataSegmentLength"], "262144", "the target declares its own limit")
        XCTAssertTrue(h.isOpen)

        // Full feature: a NOP-Out (immediate, CmdSN not advanced) is answered with its ITT.
        h.expStatSN = operational.statSN &+ 1
        let nop = try h.exchangeOne(InitiatorPDUBuilder.nopOut(itt: 0x55, cmdSN: h.cmdSN, expStatSN: h.expStatSN),
                                    data: Array("ping".utf8))
        XCTAssertEqual(nop.opcode, .nopIn)
        XCTAssertEqual(nop.header.initiatorTaskTag, 0x55)
        XCTAssertEqual(nop.header.targetTransferTag, reservedTag)
        XCTAssertEqual(nop.dataBytes, Array("ping".utf8))
        XCTAssertEqual(nop.statSN, operational.statSN &+ 1)
        XCTAssertEqual(nop.expCmdSN, h.cmdSN)
        XCTAssertEqual(h.leftoverBytes, 0)
    }

    func testStraightToOperationalLoginAndDataInLimitedByTheInitiatorsMaxRecvDataSegmentLength() throws {
        let h = harness!
        let responses = try h.loginNormal(keys: HandlerHarness.operationalKeys([("MaxRecvDataSegmentLength", "4096"),
                                                                                 ("MaxBurstLength", "65536"),
                                                                                 ("FirstBurstLength", "4096")]),
                                          viaSecurity: false)
        XCTAssertEqual(responses.count, 1)
        let r = responses[0]
        XCTAssertEqual(r.header.currentStage, 1)
        XCTAssertEqual(r.header.nextStage, 3)
        XCTAssertEqual(r.keys["TargetPortalGroupTag"], "1")
        XCTAssertEqual(r.keys["MaxBurstLength"], "65536")
        XCTAssertEqual(r.keys["FirstBurstLength"], "4096")
        try h.expectPowerOnUnitAttention()
        // A 16 KiB read comes as Data-In PDUs of at most 4096 bytes (the declared limit), in
        // one burst: F only on the last, with the status.
        let (data, pdus) = try h.read(lba: 0, blocks: 32)
        XCTAssertEqual(data, [UInt8](repeating: 0, count: 16384))
        XCTAssertEqual(pdus.map(\.opcode), [.dataIn, .dataIn, .dataIn, .dataIn])
        XCTAssertEqual(pdus.map(\.data.readableBytes), [4096, 4096, 4096, 4096])
        XCTAssertEqual(pdus.map(\.header.word36), [0, 1, 2, 3], "DataSN")
        XCTAssertEqual(pdus.map(\.bufferOffset), [0, 4096, 8192, 12288])
        XCTAssertEqual(pdus.map { $0.header.flags & 0x81 }, [0, 0, 0, 0x81], "F and S only on the last")
        XCTAssertEqual(pdus.last?.status, 0)
    }

    func testLoginToAnUnknownTargetFailsWithTargetNotFoundAndCloses() throws {
        let h = harness!
        let (req, data) = h.loginRequest(csg: 0, nsg: 1, transit: true,
                                         keys: [("InitiatorName", HandlerHarness.initiatorName), ("SessionType", "Normal"),
                                                ("TargetName", "iqn.2024-01.test.targe:nosuch"), ("AuthMethod", "None")])
        let r = try h.exchangeOne(req, data: data)
        XCTAssertEqual(r.opcode, .loginResponse)
        XCTAssertEqual(r.loginStatus.0, 2)
        XCTAssertEqual(r.loginStatus.1, 3)
        XCTAssertFalse(r.header.transit)
        XCTAssertEqual(r.data.readableBytes, 0)
        XCTAssertFalse(h.isOpen, "a failed login closes the connection")
    }

    func testLoginWithoutInitiatorNameFailsWithMissingParameter() throws {
        let h = harness!
        let (req, data) = h.loginRequest(csg: 1, nsg: 3, transit: true,
                                         keys: [("SessionType", "Normal"), ("TargetName", HandlerHarness.targetName)])
        let r = try h.exchangeOne(req, data: data)
        XCTAssertEqual(r.loginStatus.0, 2)
        XCTAssertEqual(r.loginStatus.1, 7)
        XCTAssertFalse(h.isOpen)
    }

    func testNonLoginPDUBeforeLoginDropsTheConnection() throws {
        let h = harness!
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0)
        XCTAssertEqual(try h.receive().count, 0, "nothing is answered")
        XCTAssertFalse(h.isOpen)
    }

    func testNopOutBeforeLoginDropsTheConnection() throws {
        let h = harness!
        try h.send(InitiatorPDUBuilder.nopOut(itt: 1, cmdSN: h.cmdSN, expStatSN: 0))
        XCTAssertEqual(try h.receive().count, 0)
        XCTAssertFalse(h.isOpen)
    }

    func testLoginTimeoutDropsTheConnection() throws {
        let h = harness!
        let (req, data) = h.loginRequest(csg: 0, nsg: 0, transit: false,
                                         keys: [("InitiatorName", HandlerHarness.initiatorName), ("SessionType", "Normal"),
                                                ("TargetName", HandlerHarness.targetName)])
        let r = try h.exchangeOne(req, data: data)
        XCTAssertEqual(r.loginStatus.0, 0)
        XCTAssertFalse(r.header.transit)
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(14))
        XCTAssertTrue(h.isOpen)
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        XCTAssertFalse(h.isOpen, "login-timeout (15 s) from accept")
    }

    func testCompletedLoginIsNotTimedOut() throws {
        try harness.loginNormal()
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        XCTAssertTrue(harness.isOpen)
    }

    func testDiscoverySessionSendTargetsAll() throws {
        let h = harness!
        let login = try h.loginDiscovery()
        XCTAssertNil(login.keys["TargetPortalGroupTag"], "only normal sessions report it")
        let itt: UInt32 = 0x900
        let r = try h.exchangeOne(InitiatorPDUBuilder.text(itt: itt, cmdSN: h.cmdSN, expStatSN: h.expStatSN),
                                  data: TextParameters([("SendTargets", "All")]).encoded())
        h.cmdSN &+= 1
        XCTAssertEqual(r.opcode, .textResponse)
        XCTAssertEqual(r.header.initiatorTaskTag, itt)
        XCTAssertTrue(r.header.isFinal)
        XCTAssertEqual(r.header.targetTransferTag, reservedTag)
        XCTAssertEqual(r.keys.pairs.map(\.key), ["TargetName", "TargetAddress"])
        XCTAssertEqual(r.keys["TargetName"], HandlerHarness.targetName)
        XCTAssertEqual(r.keys["TargetAddress"], "\(HandlerHarness.localAddress):3260,1",
                       "the wildcard portal is reported with the address the connection came to")
        XCTAssertEqual(r.statSN, login.statSN &+ 1)
        XCTAssertEqual(r.expCmdSN, h.cmdSN, "the Text Request took its CmdSN")

        // SCSI commands have no place in a discovery session.
        try h.sendCommand(CDBs.testUnitReady(), edtl: 0)
        let reject = try h.receive()
        XCTAssertEqual(reject.map(\.opcode), [.reject])
        XCTAssertEqual(reject.first?.response, RejectReason.protocolError.rawValue)
        XCTAssertTrue(h.isOpen)
    }

    /// `listen ... advertise`: behind NAT the local address is useless to the initiator, so a
    /// portal with advertised addresses reports those, and a portal without reports its own.
    func testSendTargetsReportsAdvertisedAddressesInsteadOfTheLocalOne() throws {
        try makeHarness(portals: [
            ListeningPortal(host: "0.0.0.0", port: 3260, advertised: ["127.0.0.1:3260", "[2001:db8::5]:13260"]),
            ListeningPortal(host: "198.51.100.7", port: 3261),
        ])
        let h = harness!
        _ = try h.loginDiscovery()
        let r = try h.exchangeOne(InitiatorPDUBuilder.text(itt: 0x901, cmdSN: h.cmdSN, expStatSN: h.expStatSN),
                                  data: TextParameters([("SendTargets", "All")]).encoded())
        h.cmdSN &+= 1
        // A SendTargets answer repeats TargetAddress, which negotiation's parser refuses.
        let pairs = r.dataBytes.split(separator: 0).map { item -> (key: String, value: String) in
            let text = String(decoding: item, as: UTF8.self)
            let eq = text.firstIndex(of: "=") ?? text.endIndex
            return (String(text[..<eq]), String(text[text.index(after: eq)...]))
        }
        XCTAssertEqual(pairs.map(\.key), ["TargetName", "TargetAddress", "TargetAddress", "TargetAddress"])
        XCTAssertEqual(pairs.filter { $0.key == "TargetAddress" }.map(\.value),
                       ["127.0.0.1:3260,1", "[2001:db8::5]:13260,1", "198.51.100.7:3261,1"])
        XCTAssertFalse(pairs.contains { $0.value.hasPrefix(HandlerHarness.localAddress) },
                       "the address the connection came to is not reported for an advertising portal")
    }
}
