/// EXTENDED COPY (LID1), SPC-4 6.4: the LU acts as copy manager and copies blocks between LUs
/// of the same target (the ones the initiator can already reach), named by their NAA or T10
/// designators from VPD page 83h. Only identification CSCD descriptors (E4h) and
/// block-to-block segments (02h) are implemented, no inline or held data; each command runs to
/// the end before its status (the RECEIVE COPY RESULTS status is ready as soon as it returns).
///
/// The parameter list is checked whole here (lengths, limits, descriptor types) before anything
/// is read or written; what needs the other LUs (does a designator name one, is a segment in
/// range) is the transport's part, which fails with COPY ABORTED.
public enum ExtendedCopyCommand {
    /// The limits RECEIVE COPY RESULTS OPERATING PARAMETERS reports and the list is held to.
    public static let maximumTargetDescriptors = 16
    public static let maximumSegmentDescriptors = 16
    public static let maximumDescriptorListLength = 1024
    /// CSCD descriptor codes, then segment descriptor codes (OPERATING PARAMETERS' list).
    static let implementedDescriptorCodes: [UInt8] = [0x02, 0xE4]

    static let headerLength = 16
    static let targetDescriptorLength = 32
    /// Block-to-block segment descriptor: 4 bytes of type and length, then DESCRIPTOR LENGTH 18h.
    static let blockSegmentLength = 0x18

    static func decode(_ cdb: CDB) -> SCSIAction {
        if cdb[1] & 0x1F != 0 { return .checkCondition(.invalidFieldInCDB(byte: 1, bit: 4)) }  // LID4 and others
        let length = Int(cdb.u32(at: 10))
        // SPC-4 6.4.1: a zero PARAMETER LIST LENGTH is not an error; nothing is copied.
        return length == 0 ? .good : .parameterData(length: length)
    }

    static func complete(parameters p: [UInt8], state: inout LogicalUnitState,
                         context: CommandContext) -> SCSIAction {
        switch parse(p) {
        case .failure(let sense):
            return .checkCondition(sense)
        case .success(let request):
            guard state.copyManager.begin(request.listID, usage: request.listIDUsage, for: context.nexus) else {
                return .checkCondition(.operationInProgress)
            }
            return .extendedCopy(request)
        }
    }

    /// The parameter list (SPC-4 6.4.3.1), checked in the order libiscsi and SPC expect: the
    /// lengths against what arrived and the maximum list length, the descriptor counts, then
    /// each descriptor's type before its contents.
    static func parse(_ p: [UInt8]) -> Result<ExtendedCopyRequest, SenseData> {
        guard p.count >= headerLength else { return .failure(.parameterListLengthError) }
        let listID = p[0]
        guard let usage = ExtendedCopyRequest.ListIDUsage(rawValue: (p[1] >> 3) & 0x03) else {
            return .failure(.invalidFieldInParameterList(byte: 1, bit: 4))
        }
        if usage == .none && listID != 0 { return .failure(.invalidFieldInParameterList(byte: 0)) }
        let targetsLength = Int(p.be16(at: 2))
        let segmentsLength = Int(p.be32(at: 8))
        let inlineLength = Int(p.be32(at: 12))
        guard targetsLength + segmentsLength <= maximumDescriptorListLength,
              headerLength + targetsLength + segmentsLength + inlineLength <= p.count else {
            return .failure(.parameterListLengthError)
        }
        if inlineLength != 0 { return .failure(.inlineDataLengthExceeded) }
        guard targetsLength % targetDescriptorLength == 0 else {
            return .failure(.invalidFieldInParameterList(byte: 2))
        }
        guard targetsLength / targetDescriptorLength <= maximumTargetDescriptors else {
            return .failure(.tooManyTargetDescriptors)
        }
        var targets: [ExtendedCopyRequest.Target] = []
        var at = headerLength
        while at < headerLength + targetsLength {
            switch parseTarget(p, at: at) {
            case .failure(let sense): return .failure(sense)
            case .success(let target): targets.append(target)
            }
            at += targetDescriptorLength
        }
        var segments: [ExtendedCopyRequest.Segment] = []
        let end = at + segmentsLength
        while at < end {
            guard at + 4 <= end else { return .failure(.parameterListLengthError) }
            guard p[at] == 0x02 else { return .failure(.unsupportedSegmentDescriptorType) }
            guard Int(p.be16(at: at + 2)) == blockSegmentLength else {
                return .failure(.invalidFieldInParameterList(byte: at + 2))
            }
            guard segments.count < maximumSegmentDescriptors else { return .failure(.tooManySegmentDescriptors) }
            guard at + 4 + blockSegmentLength <= end else { return .failure(.parameterListLengthError) }
            segments.append(ExtendedCopyRequest.Segment(
                source: Int(p.be16(at: at + 4)), destination: Int(p.be16(at: at + 6)),
                blocks: p.be16(at: at + 10), destinationCount: p[at + 1] & 0x02 != 0,
                sourceLBA: p.be64(at: at + 12), destinationLBA: p.be64(at: at + 20)))
            at += 4 + blockSegmentLength
        }
        return .success(ExtendedCopyRequest(listID: listID, listIDUsage: usage, targets: targets, segments: segments))
    }

    /// SPC-4 6.4.5.5 identification CSCD descriptor (E4h). LU ID TYPE and NUL are ignored: an
    /// SPC-4 copy manager names its copy targets by designator only.
    static func parseTarget(_ p: [UInt8], at: Int) -> Result<ExtendedCopyRequest.Target, SenseData> {
        guard p[at] == 0xE4 else { return .failure(.unsupportedTargetDescriptorType) }
        guard p[at + 1] & 0x1F == 0x00 else {  // PERIPHERAL DEVICE TYPE: direct access only
            return .failure(.unsupportedTargetDescriptorType)
        }
        let length = Int(p[at + 7])
        guard length <= 20 else { return .failure(.invalidFieldInParameterList(byte: at + 7)) }
        let designator = CopyDesignator(codeSet: p[at + 4] & 0x0F, association: (p[at + 5] >> 4) & 0x03,
                                        type: p[at + 5] & 0x0F, value: Array(p[(at + 8)..<(at + 8 + length)]))
        // Device type specific parameters (SPC-4 6.4.5.2.2): PAD, then the 24-bit block length.
        let blockLength = UInt32(p[at + 29]) << 16 | UInt32(p[at + 30]) << 8 | UInt32(p[at + 31])
        return .success(ExtendedCopyRequest.Target(designator: designator, blockLength: blockLength))
    }

    /// Whether the designator names `lu`: one of its logical-unit designators in VPD page 83h
    /// (the protocol identifier and PIV are not compared).
    public static func designates(_ designator: CopyDesignator, _ lu: LogicalUnitInfo) -> Bool {
        DeviceIdentification.logicalUnitDesignators(lu).contains(designator)
    }
}

/// A designation descriptor as an identification CSCD descriptor carries it.
public struct CopyDesignator: Sendable, Equatable, Hashable {
    public var codeSet: UInt8
    public var association: UInt8
    public var type: UInt8
    public var value: [UInt8]

    public init(codeSet: UInt8, association: UInt8, type: UInt8, value: [UInt8]) {
        self.codeSet = codeSet
        self.association = association
        self.type = type
        self.value = value
    }
}

/// A checked EXTENDED COPY parameter list.
public struct ExtendedCopyRequest: Sendable, Equatable {
    /// SPC-4 table 105: what happens to the copy's status once it ends.
    public enum ListIDUsage: UInt8, Sendable {
        /// Status kept for RECEIVE COPY RESULTS.
        case hold = 0
        /// Status kept until the initiator has read it, then discarded.
        case discard = 2
        /// No list identifier: nothing is kept and concurrent lists are not checked.
        case none = 3
    }

    public struct Target: Sendable, Equatable {
        public var designator: CopyDesignator
        /// Block length the initiator expects the copy target to have.
        public var blockLength: UInt32
    }

    /// Block device to block device (SPC-4 6.4.6.4).
    public struct Segment: Sendable, Equatable {
        /// Indexes into `targets`.
        public var source: Int
        public var destination: Int
        public var blocks: UInt16
        /// DC: `blocks` counts destination blocks (equal to source blocks here: the block
        /// lengths must match).
        public var destinationCount: Bool
        public var sourceLBA: UInt64
        public var destinationLBA: UInt64
    }

    public var listID: UInt8
    public var listIDUsage: ListIDUsage
    public var targets: [Target]
    public var segments: [Segment]
}
