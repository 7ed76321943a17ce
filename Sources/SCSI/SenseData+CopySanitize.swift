/// Sense data of EXTENDED COPY and RECEIVE COPY RESULTS (SPC-4 6.4 and 6.18).
extension SenseData {
    // MARK: parameter list (ILLEGAL REQUEST)
    /// 26/06 TOO MANY TARGET DESCRIPTORS (more CSCD descriptors than OPERATING PARAMETERS allows).
    public static let tooManyTargetDescriptors = SenseData(key: .illegalRequest, asc: 0x26, ascq: 0x06)
    /// 26/07 UNSUPPORTED TARGET DESCRIPTOR TYPE CODE.
    public static let unsupportedTargetDescriptorType = SenseData(key: .illegalRequest, asc: 0x26, ascq: 0x07)
    /// 26/08 TOO MANY SEGMENT DESCRIPTORS.
    public static let tooManySegmentDescriptors = SenseData(key: .illegalRequest, asc: 0x26, ascq: 0x08)
    /// 26/09 UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE.
    public static let unsupportedSegmentDescriptorType = SenseData(key: .illegalRequest, asc: 0x26, ascq: 0x09)
    /// 26/0B INLINE DATA LENGTH EXCEEDED (this copy manager takes no inline data).
    public static let inlineDataLengthExceeded = SenseData(key: .illegalRequest, asc: 0x26, ascq: 0x0B)
    /// 00/16 OPERATION IN PROGRESS: a copy with this list identifier is still running.
    public static let operationInProgress = SenseData(key: .illegalRequest, asc: 0x00, ascq: 0x16)

    // MARK: segment processing (COPY ABORTED)
    /// 0D/02 COPY TARGET DEVICE NOT REACHABLE: no LU of the target has the designator, the
    /// segment names a descriptor that is not in the list, or the block lengths differ.
    public static let copyTargetNotReachable = SenseData(key: .copyAborted, asc: 0x0D, ascq: 0x02)
    /// 00/00 with COPY ABORTED: a segment reaches past the end of its source or destination
    /// (the copy target's own LBA OUT OF RANGE is not what SPC-4 reports for a copy).
    public static let copySegmentOutOfRange = SenseData(key: .copyAborted, asc: 0x00, ascq: 0x00)
    /// 11/00 with COPY ABORTED: the source could not be read.
    public static let copyReadError = SenseData(key: .copyAborted, asc: 0x11, ascq: 0x00)
    /// 0C/00 with COPY ABORTED: the destination could not be written.
    public static let copyWriteError = SenseData(key: .copyAborted, asc: 0x0C, ascq: 0x00)
}

extension SenseData {
    /// 00/00 with COPY ABORTED, plain: the copy was stopped by a task management function.
    public static let copyAborted = SenseData(key: .copyAborted, asc: 0x00, ascq: 0x00)
}

/// Sense data of SANITIZE (SBC-4 5.30).
extension SenseData {
    /// 04/1B LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS, with the progress indication.
    public static func sanitizeInProgress(_ progress: UInt16) -> SenseData {
        SenseData(key: .notReady, asc: 0x04, ascq: 0x1B, progress: progress)
    }
    /// 31/03 SANITIZE COMMAND FAILED (MEDIUM ERROR): the medium after a failed sanitize.
    public static let sanitizeCommandFailed = SenseData(key: .mediumError, asc: 0x31, ascq: 0x03)
}
