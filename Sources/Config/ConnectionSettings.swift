/// A digest choice for HeaderDigest/DataDigest. Raw values are the RFC 7143 spellings.
public enum Digest: String, Sendable, CaseIterable {
    case none = "None"
    case crc32c = "CRC32C"
}

/// `[connection]`: the target's side of login negotiation (RFC 7143 section 13), under the
/// RFC's own key names (case-insensitive in the file). Defaults are the RFC defaults except
/// where noted; the ranges the parser enforces are the RFC's.
public struct ConnectionSettings: Sendable, Equatable {
    public var maxRecvDataSegmentLength = 262144   // RFC default 8192; larger PDUs cost nothing here
    public var maxBurstLength = 1048576            // RFC default 262144
    public var firstBurstLength = 65536
    public var initialR2T = false                  // RFC default Yes; No lets writes start unsolicited
    public var immediateData = true
    public var maxOutstandingR2T = 1
    public var maxConnections = 1
    /// The digests accepted. The initiator's order decides (RFC 7143 section 6.2: the
    /// responder picks the first value of the originator's list it supports), so the default
    /// takes both: an initiator that requires CRC32C gets it, one that prefers None gets that.
    /// `CRC32C` alone requires digests, `None` alone forbids them.
    public var headerDigest: [Digest] = [.crc32c, .none]
    public var dataDigest: [Digest] = [.crc32c, .none]
    public var dataPDUInOrder = true
    public var dataSequenceInOrder = true
    public var defaultTime2Wait = 2
    public var defaultTime2Retain = 20
    public var errorRecoveryLevel = 0
    /// Line of the `[connection]` header, 0 when absent.
    public var line = 0
    /// RFC key name as in `Self.keys` ("MaxConnections") -> line it was set on.
    public var lines: [String: Int] = [:]

    public init() {}

    /// Every key this section accepts, in RFC spelling and in the order the writer emits them.
    public static let keys = [
        "MaxRecvDataSegmentLength", "MaxBurstLength", "FirstBurstLength", "InitialR2T",
        "ImmediateData", "MaxOutstandingR2T", "MaxConnections", "HeaderDigest", "DataDigest",
        "DataPDUInOrder", "DataSequenceInOrder", "DefaultTime2Wait", "DefaultTime2Retain",
        "ErrorRecoveryLevel",
    ]

    /// Ignores line numbers (see `ApplianceSettings.==`).
    public static func == (a: Self, b: Self) -> Bool {
        a.maxRecvDataSegmentLength == b.maxRecvDataSegmentLength && a.maxBurstLength == b.maxBurstLength
            && a.firstBurstLength == b.firstBurstLength && a.initialR2T == b.initialR2T
            && a.immediateData == b.immediateData && a.maxOutstandingR2T == b.maxOutstandingR2T
            && a.maxConnections == b.maxConnections && a.headerDigest == b.headerDigest
            && a.dataDigest == b.dataDigest && a.dataPDUInOrder == b.dataPDUInOrder
            && a.dataSequenceInOrder == b.dataSequenceInOrder && a.defaultTime2Wait == b.defaultTime2Wait
            && a.defaultTime2Retain == b.defaultTime2Retain && a.errorRecoveryLevel == b.errorRecoveryLevel
    }
}
