import XCTest
@testable import ISCSI

/// Whether a session may go on after a reload changed the CHAP users.
final class AuthenticationPolicyTests: XCTestCase {
    func credential(_ name: String, _ secret: String) -> CHAPCredential {
        CHAPCredential(name: name, secret: Array(secret.utf8))
    }

    func testStillAdmitsTable() {
        let alice = credential("alice", "alice-secret-12")
        let aliceNewSecret = credential("alice", "another-secret-34")
        let bob = credential("bob", "bob-secret-1234")
        let aliceBoundHere = CHAPCredential(name: "alice", secret: Array("alice-secret-12".utf8),
                                            initiators: ["iqn.2026-12.org.example:host1"])
        let aliceBoundElsewhere = CHAPCredential(name: "alice", secret: Array("alice-secret-12".utf8),
                                                 initiators: ["iqn.2026-12.org.example:host2"])
        let cases: [(user: String?, before: [CHAPCredential], after: [CHAPCredential], admitted: Bool, why: String)] = [
            (nil, [], [], true, "no authentication before or after"),
            ("alice", [alice], [], true, "authentication dropped: everyone may stay"),
            (nil, [], [alice], false, "authentication newly required: an unauthenticated session goes"),
            ("alice", [alice], [alice, bob], true, "another user added"),
            ("alice", [alice, bob], [bob], false, "the session's user removed"),
            ("alice", [alice], [aliceNewSecret], false, "the session's user has a new secret"),
            ("bob", [alice, bob], [alice, bob], true, "nothing changed"),
            ("alice", [alice], [aliceBoundHere], true, "alice bound to this session's initiator"),
            ("alice", [alice], [aliceBoundElsewhere], false, "alice bound to other initiators only"),
        ]
        for c in cases {
            let now = AuthenticationPolicy(incoming: c.after)
            let earlier = AuthenticationPolicy(incoming: c.before)
            XCTAssertEqual(now.stillAdmits(user: c.user, initiatorName: "iqn.2026-12.org.example:HOST1", admittedUnder: earlier),
                           c.admitted, c.why)
        }
    }
}
