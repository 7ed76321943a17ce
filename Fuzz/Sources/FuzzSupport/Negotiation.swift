import ISCSI

/// What RFC 7143 section 13 (and RFC 7144 for iSCSIProtocolLevel) says about each
/// operational key, written out independently of the negotiator's own table.
public enum KeySpec {
    public enum Function: Sendable { case minimum, maximum, and, or, list, declarative }

    public static let keys: [String: (function: Function, range: ClosedRange<UInt64>)] = [
        "HeaderDigest": (.list, 0...0),
        "DataDigest": (.list, 0...0),
        "MaxConnections": (.minimum, 1...65535),
        "InitialR2T": (.or, 0...0),
        "ImmediateData": (.and, 0...0),
        "MaxRecvDataSegmentLength": (.declarative, 512...16_777_215),
        "MaxBurstLength": (.minimum, 512...16_777_215),
        "FirstBurstLength": (.minimum, 512...16_777_215),
        "DefaultTime2Wait": (.maximum, 0...3600),
        "DefaultTime2Retain": (.minimum, 0...3600),
        "MaxOutstandingR2T": (.minimum, 1...65535),
        "DataPDUInOrder": (.or, 0...0),
        "DataSequenceInOrder": (.or, 0...0),
        "ErrorRecoveryLevel": (.minimum, 0...2),
        "iSCSIProtocolLevel": (.minimum, 0...31),
    ]

    /// Keys the login itself declares; the negotiator must leave them alone.
    public static let declarativeLoginKeys: Set<String> = [
        "InitiatorName", "InitiatorAlias", "TargetName", "SessionType", "AuthMethod",
        "TargetAlias", "TargetAddress", "TargetPortalGroupTag",
    ]

    static let reserved: Set<String> = ["Reject", "Irrelevant", "NotUnderstood"]

    /// Decimal or 0x-hexadecimal, as leniently as the negotiator reads them.
    static func number(_ s: String) -> UInt64? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16) }
        return UInt64(s)
    }
}

/// Runs one Negotiator.negotiate and checks the answer against RFC 7143 section 6.2.
public func checkNegotiation(_ negotiator: inout Negotiator, _ request: TextParameters, offer: TargetOffer) {
    let answer = negotiator.negotiate(request)
    var answered = Set<String>()
    for (key, value) in answer.pairs {
        fuzzCheck(answered.insert(key).inserted, "key \(key) answered twice: \(answer.pairs)")
        guard let offered = request[key] else {
            fuzzCheck(false, "answered key \(key) that the initiator did not send")
            return
        }
        fuzzCheck(!KeySpec.declarativeLoginKeys.contains(key) && !key.hasPrefix("CHAP_"),
                  "the negotiator answered login key \(key)")
        if value == "Irrelevant" {
            // The obsolete marker keys (IFMarkInt/OFMarkInt) are answered Irrelevant too.
            fuzzCheck(negotiator.isDiscovery || key.hasSuffix("MarkInt"),
                      "\(key)=Irrelevant in a normal session")
        }
        guard let spec = KeySpec.keys[key], !KeySpec.reserved.contains(value) else { continue }
        switch spec.function {
        case .minimum, .maximum, .declarative:
            guard let result = KeySpec.number(value) else {
                fuzzCheck(false, "\(key)=\(value) is not a number")
                return
            }
            guard let theirs = KeySpec.number(offered), spec.range.contains(theirs) else {
                fuzzCheck(false, "\(key): the initiator offered '\(offered)', outside \(spec.range), and got \(value), not Reject")
                continue
            }
            fuzzCheck(spec.range.contains(result), "\(key)=\(value) is outside \(spec.range)")
            if spec.function == .minimum {
                fuzzCheck(result <= theirs, "\(key)=\(value) exceeds the initiator's \(offered) (result function is min)")
            } else if spec.function == .maximum {
                fuzzCheck(result >= theirs, "\(key)=\(value) is below the initiator's \(offered) (result function is max)")
            }
        case .and, .or:
            fuzzCheck(value == "Yes" || value == "No", "\(key)=\(value)")
            fuzzCheck(offered == "Yes" || offered == "No",
                      "\(key): the initiator offered '\(offered)' and got \(value), not Reject")
            if spec.function == .and && offered == "No" { fuzzCheck(value == "No", "\(key): No AND x must be No") }
            if spec.function == .or && offered == "Yes" { fuzzCheck(value == "Yes", "\(key): Yes OR x must be Yes") }
        case .list:
            let choices = offered.split(separator: ",", omittingEmptySubsequences: false).map { $0.lowercased() }
            fuzzCheck(choices.contains(value.lowercased()), "\(key)=\(value) is not among the offered '\(offered)'")
            let ours = (key == "HeaderDigest" ? offer.headerDigests : offer.dataDigests).map(\.rawValue)
            fuzzCheck(ours.contains(value), "\(key)=\(value) is not one the target supports (\(ours))")
        }
    }
    let p = negotiator.parameters
    fuzzCheck(p.firstBurstLength <= p.maxBurstLength,
              "FirstBurstLength \(p.firstBurstLength) > MaxBurstLength \(p.maxBurstLength) (RFC 7143 13.14)")
    fuzzCheck(p.errorRecoveryLevel <= 2, "ErrorRecoveryLevel \(p.errorRecoveryLevel)")
    fuzzCheck((512...16_777_215).contains(p.maxBurstLength), "MaxBurstLength \(p.maxBurstLength)")
    fuzzCheck((512...16_777_215).contains(p.initiatorMaxRecvDataSegmentLength),
              "initiator MaxRecvDataSegmentLength \(p.initiatorMaxRecvDataSegmentLength)")
    fuzzCheck(p.maxConnections >= 1 && p.maxOutstandingR2T >= 1, "MaxConnections/MaxOutstandingR2T 0")
}
