import ISCSI
import NIOCore
import XCTest

/// A table of targets standing in for the ISCSITarget module.
final class FakeAuthority: LoginAuthority {
    var targets: [String: (name: String, alias: String?)] = ["iqn.2024-01.org.targe:disk1": ("iqn.2024-01.org.targe:disk1", "disk one")]
    var authorization: LoginStatus = .success
    var admission: Result<UInt16, LoginStatus> = .success(0x0107)
    /// CHAP users for discovery sessions, and per canonical target name (none by default).
    var discoveryPolicy: AuthenticationPolicy = .none
    var targetPolicies: [String: AuthenticationPolicy] = [:]
    private(set) var admitted: [LoginOutcome] = []
    private(set) var authorizeCalls: [(initiator: String, target: String)] = []
    private(set) var authenticationCalls: [SessionType] = []

    func lookupTarget(named name: String) -> (name: String, alias: String?)? { targets[name] }

    func authorize(initiator: String, target: String) -> LoginStatus {
        authorizeCalls.append((initiator, target))
        return authorization
    }

    func admit(_ outcome: LoginOutcome) -> Result<UInt16, LoginStatus> {
        admitted.append(outcome)
        return admission
    }

    func authentication(for sessionType: SessionType) -> AuthenticationPolicy {
        authenticationCalls.append(sessionType)
        switch sessionType {
        case .discovery: return discoveryPolicy
        case let .normal(target): return targetPolicies[target] ?? .none
        }
    }
}

/// The login phase, RFC 7143 sections 6.3, 8.1, 11.12 and 11.13.
final class LoginStateMachineTests: XCTestCase {
    static let target = "iqn.2024-01.org.targe:disk1"
    static let initiator = "iqn.1993-08.org.debian:01:abcdef"
    static let isid: UInt64 = 0x8012_3456_789a

    private var authority = FakeAuthority()
    private var machine = LoginStateMachine(offer: TargetOffer())

    override func setUp() {
        super.setUp()
        authority = FakeAuthority()
        machine = LoginStateMachine(offer: TargetOffer())
    }

    /// A Login Request PDU (RFC 7143 section 11.12) built byte-compatibly through the BHS.
    private func login(csg: UInt8, nsg: UInt8 = 0, transit: Bool, continued: Bool = false,
                       isid: UInt64 = LoginStateMachineTests.isid, tsih: UInt16 = 0, itt: UInt32 = 0x10,
                       cid: UInt16 = 1, cmdSN: UInt32 = 0x100, versionMax: UInt8 = 0, versionMin: UInt8 = 0,
                       keys: [(String, String)] = [], raw: [UInt8]? = nil) -> PDU {
        let flags: UInt8 = (transit ? 0x80 : 0) | (continued ? 0x40 : 0) | (csg & 3) << 2 | (nsg & 3)
        let data = raw ?? TextParameters(keys.map { (key: $0.0, value: $0.1) }).encoded()
        let header = BasicHeaderSegment(opcodeByte: 0x40 | 0x03, flags: flags, byte2: versionMax, byte3: versionMin,
                                        dataSegmentLength: UInt32(data.count), lunOrSpecific: isid << 16 | UInt64(tsih),
                                        initiatorTaskTag: itt, word20: UInt32(cid) << 16, word24: cmdSN, word28: 0)
        return PDU(header: header, data: ByteBuffer(bytes: data))
    }

    private var normalKeys: [(String, String)] {
        [("InitiatorName", Self.initiator), ("TargetName", Self.target), ("SessionType", "Normal")]
    }

    private enum Kind: Equatable { case respond, complete, fail }

    private func split(_ step: LoginStateMachine.Step) -> (Kind, LoginStateMachine.Response, LoginOutcome?) {
        switch step {
        case let .respond(r): return (.respond, r, nil)
        case let .complete(r, o): return (.complete, r, o)
        case let .fail(r, _): return (.fail, r, nil)
        }
    }

    private func assertFails(_ step: LoginStateMachine.Step, with status: LoginStatus,
                             file: StaticString = #filePath, line: UInt = #line) {
        let (kind, response, _) = split(step)
        XCTAssertEqual(kind, .fail, file: file, line: line)
        XCTAssertEqual(response.status, status, "got \(response.status)", file: file, line: line)
        XCTAssertFalse(response.transit, "a failed login response does not transit", file: file, line: line)
        XCTAssertEqual(authority.admitted.count, 0, "nothing admitted", file: file, line: line)
    }

    // MARK: successful logins

    func testOperationalStraightToFullFeatureInOnePDU() throws {
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true, itt: 0x77, cid: 4, cmdSN: 0x1234,
                                         keys: normalKeys + [("MaxRecvDataSegmentLength", "65536"),
                                                             ("HeaderDigest", "None"), ("InitialR2T", "Yes")]),
                                   authority: authority)
        let (kind, r, outcome) = split(step)
        XCTAssertEqual(kind, .complete)
        XCTAssertEqual(r.status, .success)
        XCTAssertTrue(r.transit)
        XCTAssertEqual(r.currentStage, 1)
        XCTAssertEqual(r.nextStage, 3)
        XCTAssertEqual(r.tsih, 0x0107, "the TSIH assigned by admit is returned in the final response")
        XCTAssertEqual(r.isid, Self.isid)
        XCTAssertEqual(r.itt, 0x77)
        // RFC 7143 section 13.9: TargetPortalGroupTag in the first response of a Normal session.
        XCTAssertNotNil(r.keys["TargetPortalGroupTag"])
        XCTAssertEqual(r.keys["HeaderDigest"], "None")
        XCTAssertEqual(r.keys["InitialR2T"], "Yes")
        // Our MaxRecvDataSegmentLength declaration (section 13.12).
        XCTAssertEqual(r.keys["MaxRecvDataSegmentLength"], String(TargetOffer().maxRecvDataSegmentLength))
        // Declarative keys are not echoed.
        XCTAssertNil(r.keys["InitiatorName"])
        XCTAssertNil(r.keys["TargetName"])

        let o = try XCTUnwrap(outcome)
        XCTAssertEqual(o.initiatorName, Self.initiator)
        XCTAssertEqual(o.isid, Self.isid)
        XCTAssertEqual(o.requestedTSIH, 0)
        XCTAssertEqual(o.connectionID, 4)
        XCTAssertEqual(o.initialCmdSN, 0x1234)
        XCTAssertEqual(o.sessionType, .normal(targetName: Self.target))
        XCTAssertEqual(o.parameters.initiatorMaxRecvDataSegmentLength, 65536)
        XCTAssertTrue(o.parameters.initialR2T)
        XCTAssertEqual(authority.admitted, [o])
        XCTAssertEqual(authority.authorizeCalls.map { $0.initiator }, [Self.initiator])
        XCTAssertEqual(machine.negotiatedParameters, o.parameters)
    }

    func testTargetNameIsCanonicalisedByTheAuthority() throws {
        authority.targets["IQN.2024-01.ORG.TARGE:DISK1"] = (Self.target, nil)
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true,
                                         keys: [("InitiatorName", Self.initiator), ("TargetName", "IQN.2024-01.ORG.TARGE:DISK1")]),
                                   authority: authority)
        let (kind, _, outcome) = split(step)
        XCTAssertEqual(kind, .complete)
        XCTAssertEqual(outcome?.sessionType, .normal(targetName: Self.target), "SessionType defaults to Normal")
        XCTAssertEqual(authority.authorizeCalls.first?.target, Self.target)
    }

    func testSecurityStageWithAuthMethodNoneThenOperational() throws {
        let first = machine.receive(login(csg: 0, nsg: 1, transit: true, keys: normalKeys + [("AuthMethod", "None")]),
                                    authority: authority)
        var (kind, r, _) = split(first)
        XCTAssertEqual(kind, .respond)
        XCTAssertEqual(r.status, .success)
        XCTAssertEqual(r.keys["AuthMethod"], "None")
        XCTAssertTrue(r.transit)
        XCTAssertEqual(r.currentStage, 0)
        XCTAssertEqual(r.nextStage, 1)
        XCTAssertEqual(r.tsih, 0, "TSIH is only assigned in the final response")
        XCTAssertNotNil(r.keys["TargetPortalGroupTag"], "first response of a Normal session")
        XCTAssertEqual(authority.admitted.count, 0)

        let second = machine.receive(login(csg: 1, nsg: 3, transit: true, itt: 0x11, keys: [("ImmediateData", "Yes")]),
                                     authority: authority)
        let outcome: LoginOutcome?
        (kind, r, outcome) = split(second)
        XCTAssertEqual(kind, .complete)
        XCTAssertEqual(r.currentStage, 1)
        XCTAssertEqual(r.nextStage, 3)
        XCTAssertEqual(r.itt, 0x11)
        XCTAssertEqual(r.tsih, 0x0107)
        XCTAssertEqual(r.keys["ImmediateData"], "Yes")
        XCTAssertNil(r.keys["TargetPortalGroupTag"], "sent once, in the first response")
        XCTAssertEqual(outcome?.sessionType, .normal(targetName: Self.target))
        XCTAssertEqual(authority.admitted.count, 1)
    }

    func testAuthMethodListContainingNoneIsAnsweredNone() {
        let step = machine.receive(login(csg: 0, nsg: 1, transit: true, keys: normalKeys + [("AuthMethod", "CHAP,None")]),
                                   authority: authority)
        let (kind, r, _) = split(step)
        XCTAssertEqual(kind, .respond)
        XCTAssertEqual(r.keys["AuthMethod"], "None")
    }

    func testSecurityStageStraightToFullFeature() {
        // CSG=0 -> NSG=3 skips the operational stage (allowed by RFC 7143 section 6.3).
        let step = machine.receive(login(csg: 0, nsg: 3, transit: true, keys: normalKeys + [("AuthMethod", "None")]),
                                   authority: authority)
        let (kind, r, _) = split(step)
        XCTAssertEqual(kind, .complete)
        XCTAssertEqual(r.currentStage, 0)
        XCTAssertEqual(r.nextStage, 3)
    }

    func testStayingInAStageWithoutTransit() {
        let first = machine.receive(login(csg: 1, transit: false, keys: normalKeys + [("MaxBurstLength", "65536")]),
                                    authority: authority)
        var (kind, r, _) = split(first)
        XCTAssertEqual(kind, .respond)
        XCTAssertFalse(r.transit)
        XCTAssertEqual(r.currentStage, 1)
        XCTAssertEqual(r.keys["MaxBurstLength"], "65536")

        let second = machine.receive(login(csg: 1, nsg: 3, transit: true), authority: authority)
        (kind, r, _) = split(second)
        XCTAssertEqual(kind, .complete)
        XCTAssertEqual(machine.negotiatedParameters?.maxBurstLength, 65536)
    }

    func testDiscoverySessionWithoutTargetNameCompletes() throws {
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true,
                                         keys: [("InitiatorName", Self.initiator), ("SessionType", "Discovery"),
                                                ("MaxBurstLength", "65536")]),
                                   authority: authority)
        let (kind, r, outcome) = split(step)
        XCTAssertEqual(kind, .complete)
        XCTAssertEqual(r.status, .success)
        XCTAssertEqual(outcome?.sessionType, .discovery)
        XCTAssertEqual(r.keys["MaxBurstLength"], "Irrelevant")
        XCTAssertNil(r.keys["TargetPortalGroupTag"], "only returned when TargetName is given")
        XCTAssertEqual(authority.authorizeCalls.count, 0)
        XCTAssertEqual(authority.admitted.count, 1)
    }

    func testContinuedTextIsCollectedAcrossPDUs() throws {
        // The key=value text is split in the middle of a key name (RFC 7143 section 6.2 allows any split).
        let text = Array("InitiatorName=\(Self.initiator)\0TargetName=\(Self.target)\0SessionType=Normal\0HeaderDigest=None\0".utf8)
        let cut = 50
        XCTAssertEqual(String(decoding: text[47..<cut], as: UTF8.self), "Tar")
        let first = machine.receive(login(csg: 1, nsg: 0, transit: false, continued: true, raw: Array(text[..<cut])),
                                    authority: authority)
        var (kind, r, _) = split(first)
        XCTAssertEqual(kind, .respond)
        XCTAssertEqual(r.status, .success)
        XCTAssertFalse(r.transit)
        XCTAssertEqual(r.keys.pairs.count, 0, "an empty response asks for the rest")
        XCTAssertEqual(authority.authorizeCalls.count, 0, "nothing processed yet")

        let second = machine.receive(login(csg: 1, nsg: 3, transit: true, raw: Array(text[cut...])), authority: authority)
        let outcome: LoginOutcome?
        (kind, r, outcome) = split(second)
        XCTAssertEqual(kind, .complete)
        XCTAssertEqual(r.keys["HeaderDigest"], "None")
        // The first Login Response to a request with C=0 carries the TargetPortalGroupTag.
        XCTAssertNotNil(r.keys["TargetPortalGroupTag"])
        XCTAssertEqual(outcome?.initiatorName, Self.initiator)
        XCTAssertEqual(outcome?.sessionType, .normal(targetName: Self.target))
    }

    // MARK: failures

    func testCHAPOnlyFailsWithAuthenticationFailure() {
        let step = machine.receive(login(csg: 0, nsg: 1, transit: true, keys: normalKeys + [("AuthMethod", "CHAP")]),
                                   authority: authority)
        assertFails(step, with: LoginStatus(2, 1))
        XCTAssertEqual(split(step).1.keys["AuthMethod"], "Reject")
    }

    func testMissingInitiatorNameIsMissingParameter() {
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true, keys: [("TargetName", Self.target)]),
                                   authority: authority)
        assertFails(step, with: LoginStatus(2, 7))
    }

    /// RFC 7143 4.2.7: the name keys the nexus, reservations and ACLs and is shown in logs and
    /// status, so a malformed one (control characters, no iqn./eui./naa. form) is refused with
    /// 2/0 before anything else looks at it; the reason quotes it escaped.
    func testInvalidInitiatorNameIsAnInitiatorError() {
        let bad = ["iqn.2026-01.org.x:a\n\u{1b}[2Jerror targe: forged", "host1", "iqn.2026-01.org.x:a b", "eui.12345",
                   "iqn." + String(repeating: "a", count: 230)]
        for name in bad {
            var fresh = LoginStateMachine(offer: TargetOffer())
            let step = fresh.receive(login(csg: 1, nsg: 3, transit: true, keys: [("InitiatorName", name), ("TargetName", Self.target)]),
                                     authority: authority)
            assertFails(step, with: LoginStatus(2, 0))
            if case let .fail(_, reason) = step {
                XCTAssertFalse(reason.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "raw control characters: \(reason)")
            }
        }
        for name in ["iqn.2026-01.org.x:host_1", "eui.0123456789ABCDEF", "naa.0123456789abcdef"] {
            var fresh = LoginStateMachine(offer: TargetOffer())
            let step = fresh.receive(login(csg: 1, nsg: 3, transit: true, keys: [("InitiatorName", name), ("TargetName", Self.target)]),
                                     authority: authority)
            if case .fail = step { XCTFail("\(name) is a valid iSCSI name") }
        }
    }

    func testNormalSessionWithoutTargetNameIsMissingParameter() {
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true, keys: [("InitiatorName", Self.initiator)]),
                                   authority: authority)
        assertFails(step, with: LoginStatus(2, 7))
    }

    func testUnknownTargetIsNotFound() {
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true,
                                         keys: [("InitiatorName", Self.initiator), ("TargetName", "iqn.2024-01.org.nowhere:x")]),
                                   authority: authority)
        assertFails(step, with: LoginStatus(2, 3))
    }

    func testAuthorizationFailureIsPassedThrough() {
        authority.authorization = .authorizationFailure
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true, keys: normalKeys), authority: authority)
        assertFails(step, with: LoginStatus(2, 2))
    }

    func testVersionMinAboveZeroIsUnsupportedVersion() {
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true, versionMax: 2, versionMin: 1, keys: normalKeys),
                                   authority: authority)
        assertFails(step, with: LoginStatus(2, 5))
    }

    func testISIDChangeMidLoginIsInitiatorError() {
        let first = machine.receive(login(csg: 0, nsg: 1, transit: false, keys: normalKeys + [("AuthMethod", "None")]),
                                    authority: authority)
        XCTAssertEqual(split(first).0, .respond)
        let second = machine.receive(login(csg: 0, nsg: 1, transit: true, isid: Self.isid + 1), authority: authority)
        assertFails(second, with: LoginStatus(2, 0))
    }

    func testTSIHChangeMidLoginIsInitiatorError() {
        _ = machine.receive(login(csg: 1, transit: false, keys: normalKeys), authority: authority)
        let second = machine.receive(login(csg: 1, nsg: 3, transit: true, tsih: 5), authority: authority)
        assertFails(second, with: LoginStatus(2, 0))
    }

    func testCSGDifferentFromCurrentStageIsInitiatorError() {
        _ = machine.receive(login(csg: 0, transit: false, keys: normalKeys + [("AuthMethod", "None")]), authority: authority)
        // Still in the security stage, but the initiator claims to be in the operational stage.
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true), authority: authority)
        assertFails(step, with: LoginStatus(2, 0))
    }

    func testAdmitFailureStatusIsPassedThrough() {
        authority.admission = .failure(.tooManyConnections)
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true, keys: normalKeys), authority: authority)
        let (kind, r, _) = split(step)
        XCTAssertEqual(kind, .fail)
        XCTAssertEqual(r.status, LoginStatus(2, 6))
        XCTAssertFalse(r.transit)
        XCTAssertEqual(authority.admitted.count, 1, "admit was asked")
    }

    func testTransitToALowerStageIsInitiatorError() {
        let step = machine.receive(login(csg: 1, nsg: 0, transit: true, keys: normalKeys), authority: authority)
        assertFails(step, with: LoginStatus(2, 0))
    }

    func testTransitToReservedStageIsInitiatorError() {
        let step = machine.receive(login(csg: 0, nsg: 2, transit: true, keys: normalKeys + [("AuthMethod", "None")]),
                                   authority: authority)
        assertFails(step, with: LoginStatus(2, 0))
    }

    func testFirstPDUInFullFeatureStageIsInitiatorError() {
        let step = machine.receive(login(csg: 3, nsg: 3, transit: true, keys: normalKeys), authority: authority)
        assertFails(step, with: LoginStatus(2, 0))
    }

    func testUnsupportedSessionType() {
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true,
                                         keys: [("InitiatorName", Self.initiator), ("SessionType", "Foo")]),
                                   authority: authority)
        assertFails(step, with: LoginStatus(2, 9))
    }

    func testTransitAndContinueTogetherIsInitiatorError() {
        // "A Login Request with the C bit set to 1 MUST have the T bit set to 0."
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true, continued: true, keys: normalKeys),
                                   authority: authority)
        assertFails(step, with: LoginStatus(2, 0))
    }

    func testNonLoginOpcodeDuringLogin() {
        let nop = PDU(header: BasicHeaderSegment(opcodeByte: 0x40, flags: 0x80, initiatorTaskTag: 1))
        assertFails(machine.receive(nop, authority: authority), with: LoginStatus(2, 0x0b))
    }

    func testMalformedTextIsInitiatorError() {
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true, raw: Array("InitiatorName\0".utf8)),
                                   authority: authority)
        assertFails(step, with: LoginStatus(2, 0))
    }

    /// RFC-ORACLE TEST: an initiator may declare the public extension key X#NodeArchitecture
    /// (RFC 7143 section 13.26). The login must still succeed; the target may answer or ignore
    /// the key but must not fail the login. Fails while TextParameters rejects '#' in key names.
    func testRFCLoginWithNodeArchitectureKeySucceeds() {
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true,
                                         keys: normalKeys + [("X#NodeArchitecture", "ExampleOS/v1234,ExampleInc_SW_Initiator/1.05a")]),
                                   authority: authority)
        let (kind, r, _) = split(step)
        XCTAssertEqual(kind, .complete, "RFC 7143 13.26: X#NodeArchitecture must not fail the login (status \(r.status))")
        XCTAssertEqual(r.status, .success)
    }
}
