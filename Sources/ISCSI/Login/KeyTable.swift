/// The operational text keys as data (RFC 7143 section 13): how each is negotiated, its
/// legal range, and where its agreed value goes. The negotiator is a loop over this table.
struct KeyRule: Sendable {
    enum Kind: Sendable {
        /// Result = initiator's AND ours.
        case booleanAnd(ours: @Sendable (TargetOffer) -> Bool, store: @Sendable (inout OperationalParameters, Bool) -> Void)
        /// Result = initiator's OR ours.
        case booleanOr(ours: @Sendable (TargetOffer) -> Bool, store: @Sendable (inout OperationalParameters, Bool) -> Void)
        /// Result = min(initiator's, ours).
        case minimum(ours: @Sendable (TargetOffer) -> UInt32, store: @Sendable (inout OperationalParameters, UInt32) -> Void)
        /// Result = max(initiator's, ours).
        case maximum(ours: @Sendable (TargetOffer) -> UInt32, store: @Sendable (inout OperationalParameters, UInt32) -> Void)
        /// The initiator's own declaration; nothing to answer.
        case declaration(store: @Sendable (inout OperationalParameters, UInt32) -> Void)
        /// Result = first of the initiator's values that we support.
        case list(ours: @Sendable (TargetOffer) -> [String], store: @Sendable (inout OperationalParameters, String) -> Void)
        /// Obsolete keys with a fixed answer (markers).
        case fixed(String)
    }
    let kind: Kind
    let range: ClosedRange<UInt32>
    /// Irrelevant in discovery sessions (RFC 7143 section 13: "Irrelevant when SessionType=Discovery").
    let normalSessionOnly: Bool
    /// Only allowed in the leading login of a session (session-wide keys).
    let leadingOnly: Bool

    init(_ kind: Kind, range: ClosedRange<UInt32> = 0...UInt32.max, normalSessionOnly: Bool = false, leadingOnly: Bool = true) {
        self.kind = kind
        self.range = range
        self.normalSessionOnly = normalSessionOnly
        self.leadingOnly = leadingOnly
    }
}

let segmentRange: ClosedRange<UInt32> = 512...16_777_215

let operationalKeyTable: [String: KeyRule] = [
    "HeaderDigest": KeyRule(.list(ours: { $0.headerDigests.map(\.rawValue) },
                                  store: { $0.headerDigest = DigestAlgorithm(rawValue: $1) == .crc32c }), leadingOnly: false),
    "DataDigest": KeyRule(.list(ours: { $0.dataDigests.map(\.rawValue) },
                                store: { $0.dataDigest = DigestAlgorithm(rawValue: $1) == .crc32c }), leadingOnly: false),
    "MaxConnections": KeyRule(.minimum(ours: { $0.maxConnections }, store: { $0.maxConnections = $1 }),
                              range: 1...65535, normalSessionOnly: true),
    "InitialR2T": KeyRule(.booleanOr(ours: { $0.initialR2T }, store: { $0.initialR2T = $1 }), normalSessionOnly: true),
    "ImmediateData": KeyRule(.booleanAnd(ours: { $0.immediateData }, store: { $0.immediateData = $1 }), normalSessionOnly: true),
    "MaxRecvDataSegmentLength": KeyRule(.declaration(store: { $0.initiatorMaxRecvDataSegmentLength = $1 }),
                                        range: segmentRange, leadingOnly: false),
    "MaxBurstLength": KeyRule(.minimum(ours: { $0.maxBurstLength }, store: { $0.maxBurstLength = $1 }),
                              range: segmentRange, normalSessionOnly: true),
    "FirstBurstLength": KeyRule(.minimum(ours: { $0.firstBurstLength }, store: { $0.firstBurstLength = $1 }),
                                range: segmentRange, normalSessionOnly: true),
    "DefaultTime2Wait": KeyRule(.maximum(ours: { $0.defaultTime2Wait }, store: { $0.defaultTime2Wait = $1 }), range: 0...3600),
    "DefaultTime2Retain": KeyRule(.minimum(ours: { $0.defaultTime2Retain }, store: { $0.defaultTime2Retain = $1 }), range: 0...3600),
    "MaxOutstandingR2T": KeyRule(.minimum(ours: { $0.maxOutstandingR2T }, store: { $0.maxOutstandingR2T = $1 }),
                                 range: 1...65535, normalSessionOnly: true),
    "DataPDUInOrder": KeyRule(.booleanOr(ours: { $0.dataPDUInOrder }, store: { $0.dataPDUInOrder = $1 }), normalSessionOnly: true),
    "DataSequenceInOrder": KeyRule(.booleanOr(ours: { $0.dataSequenceInOrder }, store: { $0.dataSequenceInOrder = $1 }),
                                   normalSessionOnly: true),
    "ErrorRecoveryLevel": KeyRule(.minimum(ours: { $0.errorRecoveryLevel }, store: { $0.errorRecoveryLevel = $1 }), range: 0...2),
    "IFMarker": KeyRule(.fixed("No"), leadingOnly: false),
    "OFMarker": KeyRule(.fixed("No"), leadingOnly: false),
    "IFMarkInt": KeyRule(.fixed("Irrelevant"), leadingOnly: false),
    "OFMarkInt": KeyRule(.fixed("Irrelevant"), leadingOnly: false),
    // RFC 7144: we implement RFC 7143 semantics (level 1) and no task reporting extensions.
    "iSCSIProtocolLevel": KeyRule(.minimum(ours: { _ in 1 }, store: { _, _ in }), range: 0...31),
    "TaskReporting": KeyRule(.fixed("RFC3720")),
]

/// Keys that are declarations about the session or peer, handled by the login itself.
let declarativeLoginKeys: Set<String> = [
    "InitiatorName", "InitiatorAlias", "TargetName", "SessionType", "AuthMethod",
    "TargetAlias", "TargetAddress", "TargetPortalGroupTag",
]
