/// The result of negotiation for one connection and its session: what both sides agreed
/// on (RFC 7143 section 13). Defaults are the RFC's.
public struct OperationalParameters: Sendable, Equatable {
    /// CRC32C protects every header (HeaderDigest=CRC32C was negotiated).
    public var headerDigest = false
    /// CRC32C protects every data segment (DataDigest=CRC32C was negotiated).
    public var dataDigest = false
    public var maxConnections: UInt32 = 1
    public var initialR2T = true
    public var immediateData = true
    /// What the initiator declared it can receive: the most we may put in one Data-In/Text.
    public var initiatorMaxRecvDataSegmentLength: UInt32 = 8192
    /// What we declared: the most the initiator may send us in one PDU.
    public var targetMaxRecvDataSegmentLength: UInt32 = 8192
    public var maxBurstLength: UInt32 = 262_144
    public var firstBurstLength: UInt32 = 65_536
    public var defaultTime2Wait: UInt32 = 2
    public var defaultTime2Retain: UInt32 = 20
    public var maxOutstandingR2T: UInt32 = 1
    public var dataPDUInOrder = true
    public var dataSequenceInOrder = true
    public var errorRecoveryLevel: UInt32 = 0

    public init() {}

    /// A connection joining this session (MC/S): the session's values (these, from the
    /// leading login: bursts, R2T and immediate-data rules, ordering, timers, recovery level)
    /// with the joining connection's own, connection-scoped ones (digests and receive limits,
    /// RFC 7143 section 13: the only keys a non-leading login negotiates).
    public func joined(by connection: OperationalParameters) -> OperationalParameters {
        var out = self
        out.headerDigest = connection.headerDigest
        out.dataDigest = connection.dataDigest
        out.initiatorMaxRecvDataSegmentLength = connection.initiatorMaxRecvDataSegmentLength
        out.targetMaxRecvDataSegmentLength = connection.targetMaxRecvDataSegmentLength
        return out
    }
}

/// A HeaderDigest/DataDigest value (RFC 7143 section 13.1), under the RFC's spelling.
public enum DigestAlgorithm: String, Sendable, Equatable, CaseIterable {
    case none = "None"
    case crc32c = "CRC32C"
}

/// What the target offers: the values from the config's [connection] section.
public struct TargetOffer: Sendable, Equatable {
    public var maxRecvDataSegmentLength: UInt32 = 262_144
    public var maxBurstLength: UInt32 = 1_048_576
    public var firstBurstLength: UInt32 = 65_536
    public var initialR2T = false
    public var immediateData = true
    public var maxOutstandingR2T: UInt32 = 1
    public var maxConnections: UInt32 = 1
    /// Supported digests in order of preference.
    public var headerDigests: [DigestAlgorithm] = [.none]
    public var dataDigests: [DigestAlgorithm] = [.none]
    public var dataPDUInOrder = true
    public var dataSequenceInOrder = true
    public var defaultTime2Wait: UInt32 = 2
    public var defaultTime2Retain: UInt32 = 20
    public var errorRecoveryLevel: UInt32 = 0

    public init() {}
}
