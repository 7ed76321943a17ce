import ISCSI

/// The full feature phase of a connection: who logged in to what, and the connection's own
/// bookkeeping (transfer tags, a long text answer in pieces). The negotiated values are the
/// machine's `parameters`.
struct FullFeatureState {
    var tsih: UInt16
    /// The initiator's connection ID (CID) for this connection.
    var cid: UInt16
    var initiatorName: String
    var isDiscovery: Bool
    /// The CHAP user the leading login authenticated as (nil: none was required); a reload
    /// that drops the user or changes its secret logs the session out.
    var authenticatedUser: String?
    /// The rest of a text answer longer than the initiator's MaxRecvDataSegmentLength, and
    /// the TTT it asks for it with (RFC 7143 section 11.10: the C bit).
    var textContinuation: (ttt: UInt32, remaining: [UInt8])?
    private var nextTransferTag: UInt32

    init(tsih: UInt16, cid: UInt16, initiatorName: String, isDiscovery: Bool, authenticatedUser: String? = nil,
         firstTransferTag: UInt32 = 1) {
        self.nextTransferTag = firstTransferTag
        self.authenticatedUser = authenticatedUser
        self.tsih = tsih
        self.cid = cid
        self.initiatorName = initiatorName
        self.isDiscovery = isDiscovery
    }

    /// Where a PDU goes in this phase (RFC 7143 section 11: what an initiator may send).
    func route(_ pdu: PDU) -> ConnectionStateMachine.Action {
        let h = pdu.header
        switch h.initiatorOpcode {
        case .scsiCommand:
            return isDiscovery ? .reject(.protocolError, why: "SCSI command in a discovery session") : .command(pdu)
        case .dataOut:
            return .dataOut(pdu)
        case .nopOut:
            // ITT 0xffffffff: the answer to our ping, which asks for nothing back.
            return h.initiatorTaskTag == reservedTag ? .none : .request(pdu)
        case .taskManagementRequest, .textRequest, .logoutRequest:
            return .request(pdu)
        case .snackRequest:
            return .reject(.protocolError, why: "SNACK at ErrorRecoveryLevel 0")
        case .loginRequest:
            return .reject(.protocolError, why: "Login Request in the full feature phase")
        case nil:
            return .reject(.commandNotSupported, why: "unknown opcode 0x\(String(h.rawOpcode, radix: 16))")
        }
    }

    mutating func allocateTransferTag() -> UInt32 {
        let tag = nextTransferTag
        nextTransferTag &+= 1
        if nextTransferTag == reservedTag { nextTransferTag = 1 }
        return tag
    }
}
