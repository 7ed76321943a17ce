/// Negotiates operational keys (RFC 7143 sections 6.2 and 13) for one login. Pure: feed it
/// the keys of each Login Request, it returns the answers and accumulates the outcome.
public struct Negotiator: Sendable {
    public let offer: TargetOffer
    public let isDiscovery: Bool
    public let isLeading: Bool
    public private(set) var parameters: OperationalParameters
    /// Keys already answered in this login; a key negotiated twice is answered again.
    public private(set) var negotiated: Set<String> = []
    private var hasDeclared = false

    /// The outcome of one key: either an answer, or a fatal error for the login.
    public enum Failure: Error, Sendable, Equatable {
        /// The key was offered with a value we must refuse, and the login cannot go on.
        case unacceptable(key: String, value: String)
    }

    public init(offer: TargetOffer, isDiscovery: Bool, isLeading: Bool = true) {
        self.offer = offer
        self.isDiscovery = isDiscovery
        self.isLeading = isLeading
        var p = OperationalParameters()
        p.targetMaxRecvDataSegmentLength = offer.maxRecvDataSegmentLength
        self.parameters = p
    }

    /// Answers the operational keys in `request`; declarative login keys are skipped (the
    /// login handles them). Unknown keys are answered NotUnderstood, bad values Reject.
    public mutating func negotiate(_ request: TextParameters) -> TextParameters {
        var answer = TextParameters()
        for (key, value) in request.pairs {
            if declarativeLoginKeys.contains(key) || key.hasPrefix("CHAP_") { continue }
            guard let rule = operationalKeyTable[key] else {
                answer.append(key, "NotUnderstood")
                continue
            }
            negotiated.insert(key)
            if isDiscovery && rule.normalSessionOnly {
                answer.append(key, "Irrelevant")
                continue
            }
            if !isLeading && rule.leadingOnly {
                answer.append(key, "Reject")
                continue
            }
            if let reply = Self.answer(rule: rule, value: value, offer: offer, parameters: &parameters) {
                answer.append(key, reply)
            }
        }
        // RFC 7143 section 13.14: FirstBurstLength MUST NOT exceed MaxBurstLength, whatever
        // each side offered on its own.
        if parameters.firstBurstLength > parameters.maxBurstLength {
            parameters.firstBurstLength = parameters.maxBurstLength
            // Only an accepted value is replaced; a "Reject" stays a Reject.
            if let i = answer.pairs.firstIndex(where: { $0.key == "FirstBurstLength" }), answer.pairs[i].value != "Reject" {
                answer.pairs[i].value = String(parameters.maxBurstLength)
            }
        }
        return answer
    }

    /// Keys we must declare whether or not the initiator asked (RFC 7143 section 13.12:
    /// MaxRecvDataSegmentLength is declarative in each direction).
    public mutating func declarations() -> TextParameters {
        guard !hasDeclared else { return TextParameters() }
        hasDeclared = true
        return TextParameters([("MaxRecvDataSegmentLength", String(offer.maxRecvDataSegmentLength))])
    }

    static func answer(rule: KeyRule, value: String, offer: TargetOffer, parameters: inout OperationalParameters) -> String? {
        switch rule.kind {
        case let .fixed(reply):
            return reply
        case let .booleanAnd(ours, store):
            guard let theirs = parseBoolean(value) else { return "Reject" }
            let result = theirs && ours(offer)
            store(&parameters, result)
            return result ? "Yes" : "No"
        case let .booleanOr(ours, store):
            guard let theirs = parseBoolean(value) else { return "Reject" }
            let result = theirs || ours(offer)
            store(&parameters, result)
            return result ? "Yes" : "No"
        case let .minimum(ours, store):
            guard let theirs = parseNumber(value), rule.range.contains(theirs) else { return "Reject" }
            let result = min(theirs, ours(offer))
            store(&parameters, result)
            return String(result)
        case let .maximum(ours, store):
            guard let theirs = parseNumber(value), rule.range.contains(theirs) else { return "Reject" }
            let result = max(theirs, ours(offer))
            store(&parameters, result)
            return String(result)
        case let .declaration(store):
            guard let theirs = parseNumber(value), rule.range.contains(theirs) else { return "Reject" }
            store(&parameters, theirs)
            return nil
        case let .list(ours, store):
            let supported = ours(offer)
            let offered = value.split(separator: ",").map { String($0) }
            guard let pick = offered.first(where: { o in supported.contains { $0.caseInsensitiveEquals(o) } }) else {
                return "Reject"
            }
            let canonical = supported.first { $0.caseInsensitiveEquals(pick) }!
            store(&parameters, canonical)
            return canonical
        }
    }

    static func parseBoolean(_ s: String) -> Bool? {
        switch s {
        case "Yes": return true
        case "No": return false
        default: return nil
        }
    }

    /// Decimal or 0x-prefixed hexadecimal (RFC 7143 section 6.1 "numerical values").
    static func parseNumber(_ s: String) -> UInt32? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt32(s.dropFirst(2), radix: 16) }
        return UInt32(s)
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        self.lowercased() == other.lowercased()
    }
}
