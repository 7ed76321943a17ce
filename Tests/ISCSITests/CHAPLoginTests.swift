import Foundation
import ISCSI
import NIOCore
import XCTest

/// CHAP in the security stage of the login (RFC 7143 section 12.1.3, RFC 1994 with MD5).
/// Expected responses are computed with an independent MD5 (referenceMD5).
final class CHAPLoginTests: XCTestCase {
    static let target = "iqn.2024-01.org.targe:disk1"
    static let initiator = "iqn.1993-08.org.debian:01:abcdef"
    static let isid: UInt64 = 0x8012_3456_789a
    static let alice = CHAPCredential(name: "alice", secret: "alice-secret-123")
    static let bob = CHAPCredential(name: "bob", secret: Array("bob's secret!".utf8))
    static let targetIdentity = CHAPCredential(name: "targe-out", secret: "target-secret-456")

    private var authority = FakeAuthority()
    private var machine = LoginStateMachine(offer: TargetOffer())

    override func setUp() {
        super.setUp()
        authority = FakeAuthority()
        authority.targetPolicies[Self.target] = AuthenticationPolicy(incoming: [Self.alice, Self.bob])
        machine = LoginStateMachine(offer: TargetOffer())
    }

    // MARK: helpers

    private func login(csg: UInt8, nsg: UInt8 = 0, transit: Bool, itt: UInt32 = 0x10,
                       keys: [(String, String)] = []) -> PDU {
        let flags: UInt8 = (transit ? 0x80 : 0) | (csg & 3) << 2 | (nsg & 3)
        let data = TextParameters(keys.map { (key: $0.0, value: $0.1) }).encoded()
        let header = BasicHeaderSegment(opcodeByte: 0x40 | 0x03, flags: flags, byte2: 0, byte3: 0,
                                        dataSegmentLength: UInt32(data.count), lunOrSpecific: Self.isid << 16,
                                        initiatorTaskTag: itt, word20: 1 << 16, word24: 0x100, word28: 0)
        return PDU(header: header, data: ByteBuffer(bytes: data))
    }

    private var normalKeys: [(String, String)] {
        [("InitiatorName", Self.initiator), ("TargetName", Self.target), ("SessionType", "Normal")]
    }

    private var discoveryKeys: [(String, String)] {
        [("InitiatorName", Self.initiator), ("SessionType", "Discovery")]
    }

    private enum Kind: Equatable { case respond, complete, fail }

    private func split(_ step: LoginStateMachine.Step) -> (kind: Kind, response: LoginStateMachine.Response,
                                                            outcome: LoginOutcome?, reason: String?) {
        switch step {
        case let .respond(r): return (.respond, r, nil, nil)
        case let .complete(r, o): return (.complete, r, o, nil)
        case let .fail(r, reason): return (.fail, r, nil, reason)
        }
    }

    /// Asserts an authentication failure (2/1) and returns the log reason.
    @discardableResult
    private func assertFails(_ step: LoginStateMachine.Step, with status: LoginStatus = .authenticationFailure,
                             file: StaticString = #filePath, line: UInt = #line) -> String {
        let (kind, r, _, reason) = split(step)
        XCTAssertEqual(kind, .fail, "expected a failure, got \(kind) with \(r.keys.pairs)", file: file, line: line)
        XCTAssertEqual(r.status, status, "got \(r.status)", file: file, line: line)
        XCTAssertFalse(r.transit, file: file, line: line)
        XCTAssertEqual(authority.admitted.count, 0, "nothing admitted", file: file, line: line)
        return reason ?? ""
    }

    /// The first two requests of a CHAP login; returns the target's identifier and challenge.
    private func startCHAP(_ keys: [(String, String)]? = nil, algorithms: String = "5",
                           file: StaticString = #filePath, line: UInt = #line) throws -> (identifier: UInt8, challenge: [UInt8]) {
        let first = split(machine.receive(login(csg: 0, nsg: 1, transit: true,
                                                keys: (keys ?? normalKeys) + [("AuthMethod", "CHAP,None")]),
                                          authority: authority))
        XCTAssertEqual(first.kind, .respond, file: file, line: line)
        XCTAssertEqual(first.response.status, .success, file: file, line: line)
        XCTAssertEqual(first.response.keys["AuthMethod"], "CHAP", file: file, line: line)
        XCTAssertFalse(first.response.transit, "no transit before the initiator is authenticated", file: file, line: line)
        XCTAssertEqual(first.response.currentStage, 0, file: file, line: line)

        let second = split(machine.receive(login(csg: 0, nsg: 1, transit: false, itt: 0x11, keys: [("CHAP_A", algorithms)]),
                                           authority: authority))
        XCTAssertEqual(second.kind, .respond, file: file, line: line)
        XCTAssertFalse(second.response.transit, file: file, line: line)
        XCTAssertEqual(second.response.keys["CHAP_A"], "5", file: file, line: line)
        let id = try XCTUnwrap(second.response.keys["CHAP_I"].flatMap { UInt8($0) }, "CHAP_I is a decimal 0...255",
                               file: file, line: line)
        let challengeText = try XCTUnwrap(second.response.keys["CHAP_C"], file: file, line: line)
        XCTAssertTrue(challengeText.hasPrefix("0x"), file: file, line: line)
        let challenge = try XCTUnwrap(bytesFromHex(challengeText), file: file, line: line)
        XCTAssertEqual(challenge.count, 16, file: file, line: line)
        return (id, challenge)
    }

    private func chapResponse(_ id: UInt8, _ secret: [UInt8], _ challenge: [UInt8]) -> [UInt8] {
        referenceMD5([id] + secret + challenge)
    }

    private func respond(_ keys: [(String, String)], transit: Bool = true, itt: UInt32 = 0x12) -> LoginStateMachine.Step {
        machine.receive(login(csg: 0, nsg: 1, transit: transit, itt: itt, keys: keys), authority: authority)
    }

    // MARK: the oracle

    func testReferenceMD5MatchesRFC1321TestSuite() {
        XCTAssertEqual(hexString(referenceMD5([])), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(hexString(referenceMD5(Array("abc".utf8))), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(hexString(referenceMD5(Array("message digest".utf8))), "f96b697d7cb7938d525a2f31aaf161d0")
        XCTAssertEqual(hexString(referenceMD5(Array("12345678901234567890123456789012345678901234567890123456789012345678901234567890".utf8))),
                       "57edf4a22be3c955ac49da2e2107b67a")
    }

    // MARK: successful exchanges

    func testFullCHAPExchangeThenOperationalStage() throws {
        let (id, challenge) = try startCHAP()
        XCTAssertEqual(authority.authenticationCalls, [.normal(targetName: Self.target)], "policy asked once")

        let answer = split(respond([("CHAP_N", "alice"),
                                    ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge)))]))
        XCTAssertEqual(answer.kind, .respond)
        XCTAssertEqual(answer.response.status, .success)
        XCTAssertTrue(answer.response.transit, "authenticated: the requested transit is granted")
        XCTAssertEqual(answer.response.currentStage, 0)
        XCTAssertEqual(answer.response.nextStage, 1)
        XCTAssertNil(answer.response.keys["CHAP_N"], "no mutual CHAP asked")
        XCTAssertNil(answer.response.keys["CHAP_R"])

        let done = split(machine.receive(login(csg: 1, nsg: 3, transit: true, itt: 0x13, keys: [("ImmediateData", "Yes")]),
                                         authority: authority))
        XCTAssertEqual(done.kind, .complete)
        XCTAssertEqual(done.outcome?.authenticatedUser, "alice")
        XCTAssertEqual(done.outcome?.sessionType, .normal(targetName: Self.target))
        XCTAssertEqual(authority.admitted.count, 1)
        XCTAssertEqual(authority.authenticationCalls.count, 1)
    }

    /// `incoming NAME SECRET INITIATOR-NAME...`: a user bound to initiator names logs in as
    /// one of them (names compare normalised) and is refused (2/2) as any other.
    func testAUserBoundToInitiatorNamesLogsInOnlyAsThem() throws {
        for (bound, admitted) in [([Self.initiator], true), (["iqn.1993-08.org.debian:01:other"], false)] {
            authority = FakeAuthority()
            authority.targetPolicies[Self.target] = AuthenticationPolicy(
                incoming: [CHAPCredential(name: "alice", secret: Self.alice.secret, initiators: bound)])
            machine = LoginStateMachine(offer: TargetOffer())
            let (id, challenge) = try startCHAP([("InitiatorName", Self.initiator.uppercased()), ("TargetName", Self.target),
                                                 ("SessionType", "Normal")])
            let step = respond([("CHAP_N", "alice"), ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge)))])
            if admitted {
                XCTAssertEqual(split(step).kind, .respond, "bound to this initiator")
                XCTAssertEqual(split(step).response.status, .success)
            } else {
                let reason = assertFails(step, with: .authorizationFailure)
                XCTAssertTrue(reason.contains("may not log in as"), reason)
            }
        }
    }

    func testSecondUserAndStraightToFullFeature() throws {
        let (id, challenge) = try startCHAP()
        let step = split(machine.receive(login(csg: 0, nsg: 3, transit: true, itt: 0x12,
                                               keys: [("CHAP_N", "bob"),
                                                      ("CHAP_R", "0x" + hexString(chapResponse(id, Self.bob.secret, challenge)))]),
                                         authority: authority))
        XCTAssertEqual(step.kind, .complete)
        XCTAssertEqual(step.response.currentStage, 0)
        XCTAssertEqual(step.response.nextStage, 3)
        XCTAssertEqual(step.outcome?.authenticatedUser, "bob")
    }

    func testResponseWithoutTransitThenTransit() throws {
        let (id, challenge) = try startCHAP()
        let answer = split(respond([("CHAP_N", "alice"),
                                    ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge)))],
                                   transit: false))
        XCTAssertEqual(answer.kind, .respond)
        XCTAssertFalse(answer.response.transit)
        let next = split(respond([], transit: true, itt: 0x13))
        XCTAssertEqual(next.kind, .respond)
        XCTAssertTrue(next.response.transit)
        XCTAssertEqual(next.response.nextStage, 1)
    }

    func testAlgorithmListPicksMD5() throws {
        // startCHAP asserts the CHAP_A=5 answer.
        _ = try startCHAP(algorithms: "7,6,5")
    }

    func testResponseInBase64() throws {
        let (id, challenge) = try startCHAP()
        let r = chapResponse(id, Self.alice.secret, challenge)
        let step = split(respond([("CHAP_N", "alice"), ("CHAP_R", "0b" + base64String(r))]))
        XCTAssertEqual(step.kind, .respond)
        XCTAssertTrue(step.response.transit)
    }

    func testResponseInBase64WithoutPaddingAndUppercasePrefix() throws {
        let (id, challenge) = try startCHAP()
        let r = chapResponse(id, Self.alice.secret, challenge)
        let unpadded = base64String(r).replacingOccurrences(of: "=", with: "")
        let step = split(respond([("CHAP_N", "alice"), ("CHAP_R", "0B" + unpadded)]))
        XCTAssertEqual(step.kind, .respond)
        XCTAssertTrue(step.response.transit)
    }

    func testResponseInUppercaseHex() throws {
        let (id, challenge) = try startCHAP()
        let r = chapResponse(id, Self.alice.secret, challenge)
        let step = split(respond([("CHAP_N", "alice"), ("CHAP_R", "0X" + hexString(r).uppercased())]))
        XCTAssertEqual(step.kind, .respond)
        XCTAssertTrue(step.response.transit)
    }

    func testInitiatorStartingWithTransitIsHeldInSecurityStage() throws {
        // libiscsi sends its first request with T=1 NSG=1; the target answers T=0 until the
        // exchange is over. Asking again mid-exchange is held too.
        _ = try startCHAP()
        let held = split(respond([], transit: true))
        XCTAssertEqual(held.kind, .respond)
        XCTAssertFalse(held.response.transit)
        XCTAssertEqual(held.response.status, .success)
    }

    // MARK: mutual CHAP

    func testMutualCHAPAnswersWithTheTargetsResponse() throws {
        authority.targetPolicies[Self.target]?.outgoing = Self.targetIdentity
        let (id, challenge) = try startCHAP()
        // libiscsi's flow: CHAP_N, CHAP_R, CHAP_I, CHAP_C in one request with T=1, and a
        // 32-byte challenge.
        let theirs: [UInt8] = (0..<32).map { UInt8($0 * 7 + 1) }
        let step = split(respond([("CHAP_N", "alice"),
                                  ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge))),
                                  ("CHAP_I", "77"), ("CHAP_C", "0x" + hexString(theirs))]))
        XCTAssertEqual(step.kind, .respond)
        XCTAssertEqual(step.response.status, .success)
        XCTAssertTrue(step.response.transit, "T=1 with CHAP_N and CHAP_R, as libiscsi checks")
        XCTAssertEqual(step.response.currentStage, 0)
        XCTAssertEqual(step.response.keys["CHAP_N"], "targe-out")
        XCTAssertEqual(step.response.keys["CHAP_R"], "0x" + hexString(chapResponse(77, Self.targetIdentity.secret, theirs)))
        let done = split(machine.receive(login(csg: 1, nsg: 3, transit: true, itt: 0x13), authority: authority))
        XCTAssertEqual(done.kind, .complete)
        XCTAssertEqual(done.outcome?.authenticatedUser, "alice")
    }

    func testMutualCHAPWithSixteenByteBase64ChallengeAndHexIdentifier() throws {
        authority.targetPolicies[Self.target]?.outgoing = Self.targetIdentity
        let (id, challenge) = try startCHAP()
        let theirs: [UInt8] = Array(200..<216)
        let step = split(respond([("CHAP_N", "alice"),
                                  ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge))),
                                  ("CHAP_I", "0xff"), ("CHAP_C", "0b" + base64String(theirs))]))
        XCTAssertEqual(step.kind, .respond)
        XCTAssertEqual(step.response.keys["CHAP_R"], "0x" + hexString(chapResponse(255, Self.targetIdentity.secret, theirs)))
    }

    func testOddLengthHexChallengeHasAnImplicitLeadingZero() throws {
        // RFC 7143 section 6.1: n hex digits encode (n+1)/2 bytes; "0xa0102..." with 33
        // digits is 0a 01 02 ... (17 bytes).
        authority.targetPolicies[Self.target]?.outgoing = Self.targetIdentity
        let (id, challenge) = try startCHAP()
        let tail: [UInt8] = Array(1...16)
        let step = split(respond([("CHAP_N", "alice"),
                                  ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge))),
                                  ("CHAP_I", "3"), ("CHAP_C", "0xa" + hexString(tail))]))
        XCTAssertEqual(step.kind, .respond)
        XCTAssertEqual(step.response.keys["CHAP_R"],
                       "0x" + hexString(chapResponse(3, Self.targetIdentity.secret, [0x0a] + tail)))
    }

    func testMutualCHAPWithoutOutgoingCredentialFails() throws {
        let (id, challenge) = try startCHAP()
        let reason = assertFails(respond([("CHAP_N", "alice"),
                                          ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge))),
                                          ("CHAP_I", "1"), ("CHAP_C", "0x" + hexString(Array(0..<16)))]))
        XCTAssertTrue(reason.contains("outgoing"), reason)
    }

    func testReflectedChallengeFails() throws {
        authority.targetPolicies[Self.target]?.outgoing = Self.targetIdentity
        let (id, challenge) = try startCHAP()
        let step = respond([("CHAP_N", "alice"),
                            ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge))),
                            ("CHAP_I", String(id)), ("CHAP_C", "0X" + hexString(challenge).uppercased())])
        let reason = assertFails(step)
        XCTAssertTrue(reason.contains("reflection"), reason)
        XCTAssertNil(split(step).response.keys["CHAP_R"], "nothing computed for a reflected challenge")
    }

    func testShortInitiatorChallengeFails() throws {
        for length in [1, 7, 8, 15] {
            setUp()
            authority.targetPolicies[Self.target]?.outgoing = Self.targetIdentity
            let (id, challenge) = try startCHAP()
            let reason = assertFails(respond([("CHAP_N", "alice"),
                                              ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge))),
                                              ("CHAP_I", "1"), ("CHAP_C", "0x" + hexString(Array(repeating: 0x5a, count: length)))]))
            XCTAssertTrue(reason.contains("bad challenge"), "\(length): \(reason)")
        }
    }

    func testOverlongInitiatorChallengeFails() throws {
        authority.targetPolicies[Self.target]?.outgoing = Self.targetIdentity
        let (id, challenge) = try startCHAP()
        let reason = assertFails(respond([("CHAP_N", "alice"),
                                          ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge))),
                                          ("CHAP_I", "1"), ("CHAP_C", "0x" + hexString(Array(repeating: 0x5a, count: 1025)))]))
        XCTAssertTrue(reason.contains("bad challenge"), reason)
    }

    func testIdentifierWithoutChallengeFails() throws {
        authority.targetPolicies[Self.target]?.outgoing = Self.targetIdentity
        let (id, challenge) = try startCHAP()
        assertFails(respond([("CHAP_N", "alice"),
                             ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge))),
                             ("CHAP_I", "1")]))
    }

    func testIdentifierOutOfRangeFails() throws {
        authority.targetPolicies[Self.target]?.outgoing = Self.targetIdentity
        let (id, challenge) = try startCHAP()
        assertFails(respond([("CHAP_N", "alice"),
                             ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge))),
                             ("CHAP_I", "256"), ("CHAP_C", "0x" + hexString(Array(0..<16)))]))
    }

    // MARK: failed authentication

    func testWrongSecretFails() throws {
        let (id, challenge) = try startCHAP()
        let step = respond([("CHAP_N", "alice"),
                            ("CHAP_R", "0x" + hexString(chapResponse(id, Array("not-alices-secret".utf8), challenge)))])
        let reason = assertFails(step)
        XCTAssertTrue(reason.contains("wrong CHAP response"), reason)
        XCTAssertTrue(reason.contains("alice"), reason)
        XCTAssertEqual(split(step).response.keys.pairs.count, 0)
    }

    func testAnotherUsersResponseFails() throws {
        let (id, challenge) = try startCHAP()
        assertFails(respond([("CHAP_N", "alice"), ("CHAP_R", "0x" + hexString(chapResponse(id, Self.bob.secret, challenge)))]))
    }

    func testUnknownUserLooksExactlyLikeWrongSecret() throws {
        let (id1, challenge1) = try startCHAP()
        let wrong = split(respond([("CHAP_N", "alice"),
                                   ("CHAP_R", "0x" + hexString(chapResponse(id1, Array("guess-guess-guess".utf8), challenge1)))]))

        setUp()
        let (id2, challenge2) = try startCHAP()
        let unknown = split(respond([("CHAP_N", "mallory"),
                                     ("CHAP_R", "0x" + hexString(chapResponse(id2, Self.alice.secret, challenge2)))]))

        XCTAssertEqual(unknown.kind, .fail)
        XCTAssertEqual(wrong.kind, .fail)
        XCTAssertEqual(unknown.response.status, .authenticationFailure)
        XCTAssertEqual(unknown.response.status, wrong.response.status)
        XCTAssertEqual(unknown.response.transit, wrong.response.transit)
        XCTAssertEqual(unknown.response.currentStage, wrong.response.currentStage)
        XCTAssertEqual(unknown.response.nextStage, wrong.response.nextStage)
        XCTAssertEqual(unknown.response.isid, wrong.response.isid)
        XCTAssertEqual(unknown.response.tsih, wrong.response.tsih)
        XCTAssertEqual(unknown.response.itt, wrong.response.itt)
        XCTAssertEqual(unknown.response.keys, wrong.response.keys)
        XCTAssertEqual(unknown.response.keys.encoded(), wrong.response.keys.encoded())
        // Only the log tells them apart.
        XCTAssertTrue(unknown.reason?.contains("unknown CHAP user \"mallory\"") ?? false, unknown.reason ?? "")
        XCTAssertTrue(wrong.reason?.contains("wrong CHAP response for user \"alice\"") ?? false, wrong.reason ?? "")
    }

    func testMalformedResponsesFail() throws {
        for bad in ["0xzz" + String(repeating: "00", count: 15), "0x", "0b", "0b====", "0bQ", "1234", "", "0x12 34",
                    "0b" + String(repeating: "A", count: 21) + "="] {
            setUp()
            let (_, _) = try startCHAP()
            let reason = assertFails(respond([("CHAP_N", "alice"), ("CHAP_R", bad)]))
            XCTAssertTrue(reason.contains("malformed CHAP_R"), "\(bad): \(reason)")
        }
    }

    func testMalformedInitiatorChallengeFails() throws {
        authority.targetPolicies[Self.target]?.outgoing = Self.targetIdentity
        let (id, challenge) = try startCHAP()
        let reason = assertFails(respond([("CHAP_N", "alice"),
                                          ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge))),
                                          ("CHAP_I", "1"), ("CHAP_C", "0x" + String(repeating: "g1", count: 16))]))
        XCTAssertTrue(reason.contains("bad challenge"), reason)
    }

    func testResponseOfWrongLengthFails() throws {
        let (id, challenge) = try startCHAP()
        let r = chapResponse(id, Self.alice.secret, challenge)
        assertFails(respond([("CHAP_N", "alice"), ("CHAP_R", "0x" + hexString(r + [0]))]))
    }

    func testResponseWithoutNameFails() throws {
        let (id, challenge) = try startCHAP()
        assertFails(respond([("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge)))]))
    }

    func testNoneOnlyWhenCHAPIsRequiredIsRejected() {
        let step = machine.receive(login(csg: 0, nsg: 1, transit: true, keys: normalKeys + [("AuthMethod", "None")]),
                                   authority: authority)
        assertFails(step)
        XCTAssertEqual(split(step).response.keys["AuthMethod"], "Reject")
    }

    func testSkippingTheSecurityStageWhenCHAPIsRequiredFails() {
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true, keys: normalKeys), authority: authority)
        let reason = assertFails(step)
        XCTAssertTrue(reason.contains("skips the security stage"), reason)
    }

    func testLeavingTheSecurityStageWithoutAuthMethodFails() {
        let step = machine.receive(login(csg: 0, nsg: 1, transit: true, keys: normalKeys), authority: authority)
        assertFails(step)
    }

    func testAlgorithmsWithoutMD5AreRejected() {
        let first = machine.receive(login(csg: 0, nsg: 1, transit: false, keys: normalKeys + [("AuthMethod", "CHAP")]),
                                    authority: authority)
        XCTAssertEqual(split(first).response.keys["AuthMethod"], "CHAP")
        let step = respond([("CHAP_A", "6,7")], transit: false)
        let reason = assertFails(step)
        XCTAssertEqual(split(step).response.keys["CHAP_A"], "Reject")
        XCTAssertTrue(reason.contains("CHAP_A"), reason)
    }

    func testResponseBeforeChallengeFails() {
        _ = machine.receive(login(csg: 0, nsg: 1, transit: false, keys: normalKeys + [("AuthMethod", "CHAP")]),
                            authority: authority)
        let step = respond([("CHAP_N", "alice"), ("CHAP_R", "0x" + String(repeating: "00", count: 16))])
        assertFails(step)
        XCTAssertNil(split(step).response.keys["CHAP_C"])
    }

    func testCHAPKeysWithoutAuthMethodFail() {
        let step = machine.receive(login(csg: 0, nsg: 1, transit: false, keys: normalKeys + [("CHAP_A", "5")]),
                                   authority: authority)
        assertFails(step)
    }

    func testCHAPKeysAfterSuccessFail() throws {
        let (id, challenge) = try startCHAP()
        _ = respond([("CHAP_N", "alice"), ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge)))],
                    transit: false)
        assertFails(respond([("CHAP_A", "5")], transit: false, itt: 0x13))
    }

    func testAuthMethodOfferedTwiceIsInitiatorError() throws {
        _ = try startCHAP()
        assertFails(respond([("AuthMethod", "CHAP")], transit: false), with: .initiatorError)
    }

    func testCHAPKeysInTheOperationalStageAreInitiatorError() {
        authority.targetPolicies = [:]
        let step = machine.receive(login(csg: 1, nsg: 3, transit: true, keys: normalKeys + [("CHAP_N", "alice")]),
                                   authority: authority)
        assertFails(step, with: .initiatorError)
    }

    // MARK: policies

    func testNoAuthenticationRequiredAcceptsNone() {
        authority.targetPolicies = [:]
        let step = split(machine.receive(login(csg: 0, nsg: 3, transit: true, keys: normalKeys + [("AuthMethod", "CHAP,None")]),
                                         authority: authority))
        XCTAssertEqual(step.kind, .complete)
        XCTAssertEqual(step.response.keys["AuthMethod"], "None")
        XCTAssertNil(step.outcome?.authenticatedUser)
    }

    func testPolicyIsLookedUpWithTheCanonicalTargetName() throws {
        authority.targets["IQN.2024-01.ORG.TARGE:DISK1"] = (Self.target, nil)
        _ = try startCHAP([("InitiatorName", Self.initiator), ("TargetName", "IQN.2024-01.ORG.TARGE:DISK1")])
        XCTAssertEqual(authority.authenticationCalls, [.normal(targetName: Self.target)])
    }

    func testDiscoverySessionUsesTheDiscoveryPolicy() throws {
        // The target requires CHAP, discovery does not: a discovery login with None passes.
        let open = split(machine.receive(login(csg: 0, nsg: 3, transit: true, keys: discoveryKeys + [("AuthMethod", "None")]),
                                         authority: authority))
        XCTAssertEqual(open.kind, .complete)
        XCTAssertEqual(authority.authenticationCalls, [.discovery])

        // Discovery requires CHAP: None fails, CHAP with a discovery user passes.
        setUp()
        authority.discoveryPolicy = AuthenticationPolicy(incoming: [CHAPCredential(name: "finder", secret: "finder-secret-789")])
        assertFails(machine.receive(login(csg: 0, nsg: 3, transit: true, keys: discoveryKeys + [("AuthMethod", "None")]),
                                    authority: authority))
        XCTAssertEqual(authority.authenticationCalls, [.discovery])

        setUp()
        authority.discoveryPolicy = AuthenticationPolicy(incoming: [CHAPCredential(name: "finder", secret: "finder-secret-789")])
        let (id, challenge) = try startCHAP(discoveryKeys)
        let target = split(respond([("CHAP_N", "alice"),
                                    ("CHAP_R", "0x" + hexString(chapResponse(id, Self.alice.secret, challenge)))]))
        XCTAssertEqual(target.kind, .fail, "a target's user is not a discovery user")
        setUp()
        authority.discoveryPolicy = AuthenticationPolicy(incoming: [CHAPCredential(name: "finder", secret: "finder-secret-789")])
        let (id2, challenge2) = try startCHAP(discoveryKeys)
        let ok = split(machine.receive(login(csg: 0, nsg: 3, transit: true, itt: 0x12,
                                             keys: [("CHAP_N", "finder"),
                                                    ("CHAP_R", "0x" + hexString(chapResponse(id2, Array("finder-secret-789".utf8), challenge2)))]),
                                       authority: authority))
        XCTAssertEqual(ok.kind, .complete)
        XCTAssertEqual(ok.outcome?.sessionType, .discovery)
        XCTAssertEqual(ok.outcome?.authenticatedUser, "finder")
    }

    func testChallengesDifferBetweenLogins() throws {
        let first = try startCHAP()
        setUp()
        let second = try startCHAP()
        XCTAssertNotEqual(first.challenge, second.challenge)
    }

    func testCredentialDescriptionHidesTheSecret() {
        let text = "\(Self.alice) \(String(reflecting: Self.alice))"
        XCTAssertFalse(text.contains("alice-secret"), text)
        XCTAssertTrue(text.contains("alice"), text)
    }
}
