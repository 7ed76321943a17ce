import ISCSI
import NIOCore
import XCTest

/// Bugs the libFuzzer targets in Fuzz/ found, replayed through the public API. The fuzz
/// inputs are in Fuzz/Regressions/<Target>/ (`make fuzz-smoke` replays them too); Fuzz/RESULTS.md
/// tells the story of each.
final class FuzzRegressionTests: XCTestCase {
    /// One target, no authentication, every session admitted.
    private struct Authority: LoginAuthority {
        static let target = "iqn.2024-01.org.targe:disk1"
        func lookupTarget(named name: String) -> (name: String, alias: String?)? {
            name == Self.target ? (name, nil) : nil
        }
        func authorize(initiator: String, target: String) -> LoginStatus { .success }
        func admit(_ outcome: LoginOutcome) -> Result<UInt16, LoginStatus> { .success(1) }
        func authentication(for sessionType: SessionType) -> AuthenticationPolicy { .none }
    }

    /// A Login Request with the BHS flags byte as given (T, C, CSG, NSG) and raw text.
    private func login(flags: UInt8, itt: UInt32, text: String) -> PDU {
        let data = Array(text.utf8)
        let header = BasicHeaderSegment(opcodeByte: 0x43, flags: flags, dataSegmentLength: UInt32(data.count),
                                        lunOrSpecific: 0x8012_3456_789a << 16, initiatorTaskTag: itt,
                                        word20: 1 << 16, word24: 1)
        return PDU(header: header, data: ByteBuffer(bytes: data))
    }

    private func keys(of step: LoginStateMachine.Step) -> TextParameters {
        switch step {
        case let .respond(r), let .complete(r, _), let .fail(r, _): return r.keys
        }
    }

    /// Fuzz/Regressions/FuzzLoginText/maxrecvdatasegmentlength-declared-twice. An invalid
    /// MaxRecvDataSegmentLength in the request that moves to the full feature phase was
    /// answered "MaxRecvDataSegmentLength=Reject" and then declared again with the target's
    /// own value in the same response. A key twice in one text is malformed (RFC 7143
    /// section 6.1): our own TextParameters.parse refuses it, and so may an initiator.
    func testInvalidMaxRecvDataSegmentLengthIsNotAnsweredTwice() throws {
        var machine = LoginStateMachine(offer: TargetOffer())
        let authority = Authority()
        let security = machine.receive(login(flags: 0x81, itt: 0,  // T=1, CSG=0, NSG=1
                                             text: "InitiatorName=iqn.2026-01.org.fuzz:i\0TargetName=\(Authority.target)\0"),
                                       authority: authority)
        guard case .respond = security else { return XCTFail("security stage: \(security)") }

        for value in ["", "1", "16777216", "junk"] {
            var copy = machine
            let step = copy.receive(login(flags: 0x87, itt: 1,  // T=1, CSG=1, NSG=3
                                          text: "MaxRecvDataSegmentLength=\(value)\0"), authority: authority)
            let answer = keys(of: step)
            let names = answer.pairs.map(\.key)
            XCTAssertEqual(names.count, Set(names).count, "MaxRecvDataSegmentLength=\(value): a key twice in \(answer.pairs)")
            XCTAssertNoThrow(try TextParameters.parse(answer.encoded()), "MaxRecvDataSegmentLength=\(value)")
        }
    }

    /// Fuzz/Regressions/FuzzLoginText/firstburstlength-reject-overwritten. With
    /// MaxBurstLength below the default FirstBurstLength (65536), an invalid FirstBurstLength
    /// was answered with a number (the MaxBurstLength) instead of Reject: the clamp at the end
    /// of Negotiator.negotiate (RFC 7143 section 13.14) overwrote the "Reject" answer.
    func testInvalidFirstBurstLengthIsRejectedWhateverMaxBurstLength() {
        for value in ["", "huge", "0", "16777216"] {
            var negotiator = Negotiator(offer: TargetOffer(), isDiscovery: false)
            let answer = negotiator.negotiate(TextParameters([("MaxBurstLength", "512"), ("FirstBurstLength", value)]))
            XCTAssertEqual(answer["MaxBurstLength"], "512")
            XCTAssertEqual(answer["FirstBurstLength"], "Reject", "FirstBurstLength=\(value)")
            XCTAssertLessThanOrEqual(negotiator.parameters.firstBurstLength, negotiator.parameters.maxBurstLength)
        }
    }
}
