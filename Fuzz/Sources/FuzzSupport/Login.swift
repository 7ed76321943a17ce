import Crypto
#if canImport(Glibc)
import Glibc
#endif
import ISCSI
import NIOCore

/// A table of targets standing in for the Target module (like ISCSITests' FakeAuthority),
/// with a behaviour picked by the fuzz input.
public struct FuzzAuthority: LoginAuthority {
    public static let targetName = "iqn.2024-01.org.targe:disk1"
    public static let user = CHAPCredential(name: "alice", secret: "alice-secret-12")
    public static let targetUser = CHAPCredential(name: "storage1", secret: "target-secret-12")

    public var targets: [String: (name: String, alias: String?)] = [
        FuzzAuthority.targetName: (FuzzAuthority.targetName, "disk one"),
        "iqn.2024-01.org.targe:ro": ("iqn.2024-01.org.targe:ro", nil),
    ]
    public var authorization: LoginStatus = .success
    public var admission: Result<UInt16, LoginStatus> = .success(0x0107)
    public var normalPolicy = AuthenticationPolicy.none
    public var discoveryPolicy = AuthenticationPolicy.none

    public init() {}

    /// 0: everything allowed; 1: authorization refused; 2: admission refused; 3: TSIH 1;
    /// 4: CHAP required; 5: CHAP required, mutual CHAP possible; 6: CHAP for normal sessions
    /// only, mutual possible; 7: CHAP required for discovery only.
    public init(variant: UInt8) {
        let chap = AuthenticationPolicy(incoming: [Self.user, CHAPCredential(name: "bob", secret: "bob-secret-123")])
        var mutual = chap
        mutual.outgoing = Self.targetUser
        switch variant & 7 {
        case 1: authorization = .authorizationFailure
        case 2: admission = .failure(.tooManyConnections)
        case 3: admission = .success(1)
        case 4: normalPolicy = chap; discoveryPolicy = chap
        case 5: normalPolicy = mutual; discoveryPolicy = mutual
        case 6: normalPolicy = mutual
        case 7: discoveryPolicy = chap
        default: break
        }
    }

    public func lookupTarget(named name: String) -> (name: String, alias: String?)? { targets[name] }
    public func authorize(initiator: String, target: String) -> LoginStatus { authorization }
    public func admit(_ outcome: LoginOutcome) -> Result<UInt16, LoginStatus> { admission }
    public func authentication(for sessionType: SessionType) -> AuthenticationPolicy {
        sessionType == .discovery ? discoveryPolicy : normalPolicy
    }
}

/// Target offers as the config can make them (CatalogBuilder copies [connection] values).
public enum FuzzOffers {
    public static func offer(variant: UInt8) -> TargetOffer {
        var o = TargetOffer()
        switch variant & 3 {
        case 1:
            o.headerDigests = [.crc32c, .none]
            o.dataDigests = [.crc32c, .none]
            o.maxConnections = 4
        case 2:
            o.maxRecvDataSegmentLength = 8192
            o.maxBurstLength = 262_144
            o.firstBurstLength = 262_144
            o.initialR2T = true
            o.immediateData = false
            o.headerDigests = [.none, .crc32c]
            o.dataDigests = [.crc32c]  // required
            o.errorRecoveryLevel = 2
            o.maxOutstandingR2T = 8
        case 3:
            o.maxRecvDataSegmentLength = 512
            o.maxBurstLength = 512
            o.firstBurstLength = 512
            o.defaultTime2Wait = 0
            o.defaultTime2Retain = 0
            o.dataPDUInOrder = false
            o.dataSequenceInOrder = false
        default:
            break
        }
        return o
    }
}

/// RFC 1994 section 4.1: MD5 over the identifier, the secret and the challenge.
public func chapResponse(identifier: UInt8, secret: [UInt8], challenge: [UInt8]) -> [UInt8] {
    var md5 = Insecure.MD5()
    md5.update(data: [identifier] + secret + challenge)
    return Array(md5.finalize())
}

public func hexValue(_ bytes: [UInt8]) -> String {
    "0x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// `0x` hex as the target sends it (what BinaryValue.hex writes).
func decodeHexValue(_ text: String) -> [UInt8]? {
    guard text.hasPrefix("0x"), text.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    var digits = text.dropFirst(2)[...]
    while !digits.isEmpty {
        guard let byte = UInt8(digits.prefix(2), radix: 16) else { return nil }
        out.append(byte)
        digits = digits.dropFirst(2)
    }
    return out
}

/// Drives one connection's login and checks every step against RFC 7143 and the
/// authentication policy. It plays the initiator's half of CHAP when asked to, so that the
/// fuzzer can get past the security stage.
public struct LoginDriver {
    public var machine: LoginStateMachine
    public let authority: FuzzAuthority
    public let offer: TargetOffer
    public private(set) var finished = false
    /// The target's last CHAP_I and CHAP_C.
    public private(set) var challenge: (identifier: UInt8, challenge: [UInt8])?
    /// The challenge we sent for mutual CHAP, to check the target's answer.
    private var ourChallenge: (identifier: UInt8, challenge: [UInt8])?
    /// The text of the current request, collected across C-bit PDUs as the machine does.
    private var pendingText: [UInt8] = []
    private var request: TextParameters?

    public init(offer: TargetOffer, authority: FuzzAuthority) {
        machine = LoginStateMachine(offer: offer)
        self.authority = authority
        self.offer = offer
    }

    /// Keys answering the target's last challenge as `FuzzAuthority.user` (with `wrongSecret`,
    /// a wrong answer), optionally with our own challenge for mutual CHAP.
    public mutating func chapAnswer(wrongSecret: Bool, mutual: Bool) -> [UInt8] {
        let (identifier, theirs) = challenge ?? (0, [UInt8](repeating: 0, count: 16))
        var secret = FuzzAuthority.user.secret
        if wrongSecret { secret[0] ^= 1 }
        var keys = TextParameters([("CHAP_N", FuzzAuthority.user.name),
                                   ("CHAP_R", hexValue(chapResponse(identifier: identifier, secret: secret, challenge: theirs)))])
        if mutual {
            let mine = (identifier: UInt8(0x5a), challenge: (0..<16).map { UInt8($0 * 17 & 0xff) })
            ourChallenge = mine
            keys.append("CHAP_I", String(mine.identifier))
            keys.append("CHAP_C", hexValue(mine.challenge))
        }
        return keys.encoded()
    }

    /// Feeds one PDU (unless the login already ended) and checks the step.
    public mutating func receive(_ pdu: PDU) {
        guard !finished else { return }
        let step = machine.receive(pdu, authority: authority)
        let h = pdu.header
        if fuzzTrace { traceStep(step, h) }
        pdu.data.withUnsafeReadableBytes { pendingText.append(contentsOf: $0) }
        if !h.continueFlag {
            request = try? TextParameters.parse(pendingText)
            pendingText = []
        }
        switch step {
        case let .respond(r):
            fuzzCheck(r.status == .success, "a continuing login answers with status success, got \(r.status)")
            checkCommon(r, h)
            if r.transit {
                fuzzCheck(r.nextStage > r.currentStage && r.nextStage != 2,
                          "transit from stage \(r.currentStage) to \(r.nextStage)")
            }
        case let .complete(r, outcome):
            finished = true
            checkCommon(r, h)
            fuzzCheck(r.status == .success, "a completed login has status success, got \(r.status)")
            fuzzCheck(r.transit && r.nextStage == 3, "a completed login transits to stage 3 (T=\(r.transit) NSG=\(r.nextStage))")
            fuzzCheck(r.currentStage < 3, "completed from CSG \(r.currentStage)")
            if case let .success(tsih) = authority.admission {
                fuzzCheck(r.tsih == tsih, "the final response carries the admitted TSIH")
            }
            let p = outcome.parameters
            fuzzCheck(p.firstBurstLength <= p.maxBurstLength,
                      "FirstBurstLength \(p.firstBurstLength) > MaxBurstLength \(p.maxBurstLength) (RFC 7143 13.14)")
            if !offer.headerDigests.contains(.none) { fuzzCheck(p.headerDigest, "session without a required header digest") }
            if !offer.dataDigests.contains(.none) { fuzzCheck(p.dataDigest, "session without a required data digest") }
            if case let .normal(targetName) = outcome.sessionType {
                fuzzCheck(authority.targets[targetName] != nil, "admitted a session to unknown target \(targetName)")
            }
            fuzzCheck(!outcome.initiatorName.isEmpty, "a session without InitiatorName")
            // Authentication: nobody gets in without proving a configured identity.
            let policy = authority.authentication(for: outcome.sessionType)
            if policy.requiresCHAP {
                fuzzCheck(outcome.authenticatedUser.map { name in policy.incoming.contains { $0.name == name } } == true,
                          "session admitted without CHAP (authenticated user \(String(describing: outcome.authenticatedUser)))")
            }
        case let .fail(r, _):
            finished = true
            fuzzCheck(r.status.statusClass != 0, "a failed login must not have status class 0 (\(r.status))")
            fuzzCheck(!r.transit, "a failed login response does not transit")
            fuzzCheck(r.itt == h.initiatorTaskTag, "the response echoes the ITT")
        }
        if let p = machine.negotiatedParameters {
            fuzzCheck(p.firstBurstLength <= p.maxBurstLength,
                      "FirstBurstLength \(p.firstBurstLength) > MaxBurstLength \(p.maxBurstLength) (RFC 7143 13.14)")
        }
    }

    private mutating func checkCommon(_ r: LoginStateMachine.Response, _ h: BasicHeaderSegment) {
        fuzzCheck(r.itt == h.initiatorTaskTag, "the response echoes the ITT")
        fuzzCheck(r.currentStage == h.currentStage, "the response's CSG \(r.currentStage) is the request's \(h.currentStage)")
        // The keys go out as text: they must be text our own parser (and so an initiator's)
        // accepts — in particular no key twice in one response (RFC 7143 section 6.1).
        let encoded = r.keys.encoded()
        do {
            let reparsed = try TextParameters.parse(encoded)
            fuzzCheck(reparsed == r.keys, "response keys do not survive encoding: \(r.keys.pairs)")
        } catch {
            fuzzCheck(false, "response text is malformed (\(error)): \(r.keys.pairs)")
        }
        if let id = r.keys["CHAP_I"], let c = r.keys["CHAP_C"] {
            let identifier = UInt8(id)
            let bytes = decodeHexValue(c)
            fuzzCheck(identifier != nil && bytes != nil && bytes!.count >= 16,
                      "malformed target challenge CHAP_I=\(id) CHAP_C=\(c)")
            challenge = (identifier!, bytes!)
        }
        if let name = r.keys["CHAP_N"], let value = r.keys["CHAP_R"] {
            // Mutual CHAP: the target proves the outgoing identity on the initiator's challenge
            // (checked when that challenge is the one chapAnswer(mutual: true) sent).
            let outgoing = FuzzAuthority.targetUser
            fuzzCheck(name == outgoing.name, "the target answers as \(name)")
            if let mine = ourChallenge, let sent = request, sent["CHAP_I"] == String(mine.identifier),
               sent["CHAP_C"] == hexValue(mine.challenge) {
                let expected = chapResponse(identifier: mine.identifier, secret: outgoing.secret, challenge: mine.challenge)
                fuzzCheck(decodeHexValue(value) == expected, "the target's mutual CHAP response is wrong")
            }
        }
    }
}

/// FUZZ_TRACE=1 in the environment prints each login step (for reading what a seed does).
let fuzzTrace = getenv("FUZZ_TRACE") != nil

func traceStep(_ step: LoginStateMachine.Step, _ h: BasicHeaderSegment) {
    let line: String
    switch step {
    case let .respond(r): line = "respond T=\(r.transit) CSG=\(r.currentStage) NSG=\(r.nextStage) \(r.keys.pairs)"
    case let .complete(r, o): line = "complete \(o.sessionType) user=\(String(describing: o.authenticatedUser)) \(r.keys.pairs)"
    case let .fail(r, reason): line = "fail \(r.status): \(reason)"
    }
    print("login ITT \(h.initiatorTaskTag) flags 0x\(String(h.flags, radix: 16)): \(line)")
}

/// A Login Request PDU (RFC 7143 section 11.12).
public func makeLoginPDU(flags: UInt8, versionMin: UInt8 = 0, isid: UInt64, tsih: UInt16, itt: UInt32,
                         cid: UInt16 = 1, cmdSN: UInt32 = 1, opcode: UInt8 = 0x03, data: [UInt8]) -> PDU {
    let header = BasicHeaderSegment(opcodeByte: 0x40 | opcode, flags: flags, byte2: 0, byte3: versionMin,
                                    dataSegmentLength: UInt32(data.count), lunOrSpecific: isid << 16 | UInt64(tsih),
                                    initiatorTaskTag: itt, word20: UInt32(cid) << 16, word24: cmdSN, word28: 0)
    return PDU(header: header, data: ByteBuffer(bytes: data))
}

/// TextParameters.parse is a fixed point through encoded(): what parses re-encodes to text
/// that parses to the same pairs.
public func checkTextRoundTrip(_ parameters: TextParameters) {
    let encoded = parameters.encoded()
    do {
        let again = try TextParameters.parse(encoded)
        fuzzCheck(again == parameters, "text parameters change through encode/parse: \(parameters.pairs) -> \(again.pairs)")
        fuzzCheck(again.encoded() == encoded, "encoding is not stable")
    } catch {
        fuzzCheck(false, "encoded parameters fail to parse (\(error)): \(parameters.pairs)")
    }
}
