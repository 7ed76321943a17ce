/// The sense conditions Targe reports, named after their SPC-4 annex D descriptions.
extension SenseData {
    // MARK: NO SENSE / NOT READY
    public static let noSense = SenseData(key: .noSense, asc: 0x00, ascq: 0x00)
    /// 04/02 LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED: the unit was stopped by
    /// START STOP UNIT and needs a START (SBC-4 4.20). Linux sd answers it with START UNIT.
    public static let notReadyInitializingCommandRequired = SenseData(key: .notReady, asc: 0x04, ascq: 0x02)
    /// 04/01 LOGICAL UNIT IS IN PROCESS OF BECOMING READY.
    public static let notReadyBecomingReady = SenseData(key: .notReady, asc: 0x04, ascq: 0x01)
    /// 04/0A LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION.
    public static let notReadyALUATransition = SenseData(key: .notReady, asc: 0x04, ascq: 0x0A)
    /// 04/0B LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE.
    public static let notReadyTargetPortStandby = SenseData(key: .notReady, asc: 0x04, ascq: 0x0B)
    /// 04/0C LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE.
    public static let notReadyTargetPortUnavailable = SenseData(key: .notReady, asc: 0x04, ascq: 0x0C)
    /// 3A/00 MEDIUM NOT PRESENT.
    public static let mediumNotPresent = SenseData(key: .notReady, asc: 0x3A, ascq: 0x00)

    // MARK: MEDIUM / HARDWARE ERROR
    /// 11/00 UNRECOVERED READ ERROR.
    public static let unrecoveredReadError = SenseData(key: .mediumError, asc: 0x11, ascq: 0x00)
    /// 0C/00 WRITE ERROR.
    public static let writeError = SenseData(key: .mediumError, asc: 0x0C, ascq: 0x00)
    /// 44/00 INTERNAL TARGET FAILURE.
    public static let internalTargetFailure = SenseData(key: .hardwareError, asc: 0x44, ascq: 0x00)

    // MARK: ILLEGAL REQUEST
    /// 20/00 INVALID COMMAND OPERATION CODE.
    public static let invalidOpcode = SenseData(key: .illegalRequest, asc: 0x20, ascq: 0x00)
    /// 21/00 LOGICAL BLOCK ADDRESS OUT OF RANGE.
    public static let lbaOutOfRange = SenseData(key: .illegalRequest, asc: 0x21, ascq: 0x00)
    /// 25/00 LOGICAL UNIT NOT SUPPORTED.
    public static let lunNotSupported = SenseData(key: .illegalRequest, asc: 0x25, ascq: 0x00)
    /// 1A/00 PARAMETER LIST LENGTH ERROR.
    public static let parameterListLengthError = SenseData(key: .illegalRequest, asc: 0x1A, ascq: 0x00)
    /// 39/00 SAVING PARAMETERS NOT SUPPORTED.
    public static let savingParametersNotSupported = SenseData(key: .illegalRequest, asc: 0x39, ascq: 0x00)
    /// 0E/03 INVALID FIELD IN COMMAND INFORMATION UNIT (e.g. an EDTL that is not a whole
    /// number of blocks for a WRITE; libiscsi accepts it or GOOD).
    public static let invalidFieldInInformationUnit = SenseData(key: .illegalRequest, asc: 0x0E, ascq: 0x03)
    /// 53/02 MEDIUM REMOVAL PREVENTED.
    public static let mediumRemovalPrevented = SenseData(key: .illegalRequest, asc: 0x53, ascq: 0x02)
    /// 26/04 INVALID RELEASE OF PERSISTENT RESERVATION (PERSISTENT RESERVE OUT RELEASE with a
    /// TYPE or SCOPE other than the reservation's).
    public static let invalidReleaseOfPersistentReservation = SenseData(key: .illegalRequest, asc: 0x26, ascq: 0x04)
    /// 55/04 INSUFFICIENT REGISTRATION RESOURCES.
    public static let insufficientRegistrationResources = SenseData(key: .illegalRequest, asc: 0x55, ascq: 0x04)

    /// 24/00 INVALID FIELD IN CDB, pointing at `byte` (and `bit`, the field's most significant bit).
    public static func invalidFieldInCDB(byte: Int, bit: Int? = nil) -> SenseData {
        SenseData(key: .illegalRequest, asc: 0x24, ascq: 0x00,
                  fieldPointer: FieldPointer(isCDB: true, byte: UInt16(byte), bit: bit.map(UInt8.init)))
    }

    /// 26/00 INVALID FIELD IN PARAMETER LIST, pointing into the Data-Out buffer.
    public static func invalidFieldInParameterList(byte: Int, bit: Int? = nil) -> SenseData {
        SenseData(key: .illegalRequest, asc: 0x26, ascq: 0x00,
                  fieldPointer: FieldPointer(isCDB: false, byte: UInt16(byte), bit: bit.map(UInt8.init)))
    }

    // MARK: UNIT ATTENTION (queued per I_T nexus by the transport)
    /// 29/00 POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
    public static let powerOnReset = SenseData(key: .unitAttention, asc: 0x29, ascq: 0x00)
    /// 29/03 BUS DEVICE RESET FUNCTION OCCURRED (LOGICAL UNIT RESET).
    public static let busDeviceResetOccurred = SenseData(key: .unitAttention, asc: 0x29, ascq: 0x03)
    /// 29/07 I_T NEXUS LOSS OCCURRED.
    public static let itNexusLossOccurred = SenseData(key: .unitAttention, asc: 0x29, ascq: 0x07)
    /// 2A/01 MODE PARAMETERS CHANGED.
    public static let modeParametersChanged = SenseData(key: .unitAttention, asc: 0x2A, ascq: 0x01)
    /// 2A/03 RESERVATIONS PREEMPTED.
    public static let reservationsPreempted = SenseData(key: .unitAttention, asc: 0x2A, ascq: 0x03)
    /// 2A/04 RESERVATIONS RELEASED.
    public static let reservationsReleased = SenseData(key: .unitAttention, asc: 0x2A, ascq: 0x04)
    /// 2A/05 REGISTRATIONS PREEMPTED.
    public static let registrationsPreempted = SenseData(key: .unitAttention, asc: 0x2A, ascq: 0x05)
    /// 2A/09 CAPACITY DATA HAS CHANGED.
    public static let capacityDataChanged = SenseData(key: .unitAttention, asc: 0x2A, ascq: 0x09)
    /// 2A/06 ASYMMETRIC ACCESS STATE CHANGED.
    public static let asymmetricAccessStateChanged = SenseData(key: .unitAttention, asc: 0x2A, ascq: 0x06)
    /// 2F/00 COMMANDS CLEARED BY ANOTHER INITIATOR.
    public static let commandsClearedByAnotherInitiator = SenseData(key: .unitAttention, asc: 0x2F, ascq: 0x00)
    /// 3F/03 INQUIRY DATA HAS CHANGED.
    public static let inquiryDataChanged = SenseData(key: .unitAttention, asc: 0x3F, ascq: 0x03)
    /// 3F/0E REPORTED LUNS DATA HAS CHANGED.
    public static let reportedLUNsDataChanged = SenseData(key: .unitAttention, asc: 0x3F, ascq: 0x0E)

    // MARK: DATA PROTECT / MISCOMPARE
    /// 27/00 WRITE PROTECTED.
    public static let writeProtected = SenseData(key: .dataProtect, asc: 0x27, ascq: 0x00)
    /// 27/02 SOFTWARE WRITE PROTECTED (control mode page SWP).
    public static let softwareWriteProtected = SenseData(key: .dataProtect, asc: 0x27, ascq: 0x02)

    /// 1D/00 MISCOMPARE DURING VERIFY OPERATION; `offset` is the byte offset of the first
    /// difference within the compared data (SBC-4 VERIFY, WRITE AND VERIFY, COMPARE AND WRITE).
    public static func miscompare(offset: UInt64) -> SenseData {
        SenseData(key: .miscompare, asc: 0x1D, ascq: 0x00, information: offset)
    }

    // MARK: ABORTED COMMAND (iSCSI transport conditions, RFC 7143 11.4.7.2)
    /// 47/05 PROTOCOL SERVICE CRC ERROR (data digest error).
    public static let protocolServiceCRCError = SenseData(key: .abortedCommand, asc: 0x47, ascq: 0x05)
    /// 0C/0C UNEXPECTED UNSOLICITED DATA.
    public static let unexpectedUnsolicitedData = SenseData(key: .abortedCommand, asc: 0x0C, ascq: 0x0C)
    /// 0C/0D NOT ENOUGH UNSOLICITED DATA.
    public static let notEnoughUnsolicitedData = SenseData(key: .abortedCommand, asc: 0x0C, ascq: 0x0D)
    /// 11/13 READ ERROR - FAILED RETRANSMISSION REQUEST (SNACK rejected).
    public static let snackRejected = SenseData(key: .abortedCommand, asc: 0x11, ascq: 0x13)
    /// 4E/00 OVERLAPPED COMMANDS ATTEMPTED (duplicate task tag).
    public static let overlappedCommandsAttempted = SenseData(key: .abortedCommand, asc: 0x4E, ascq: 0x00)
}
