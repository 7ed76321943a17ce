import ISCSI

/// The login phase of a connection: the login machine (security and operational
/// negotiation), and the numbers the leading Login Request fixes for the session.
struct LoginState {
    var machine: LoginStateMachine
    /// The leading Login Request's CmdSN: the session's first (RFC 7143 section 11.12.5).
    private(set) var leadingCmdSN: UInt32?
    /// The TSIH the leading Login Request names (0 for a new session).
    private(set) var joiningTSIH: UInt16 = 0

    init(offer: TargetOffer) {
        machine = LoginStateMachine(offer: offer)
    }

    /// The initiator's name as far as the login has told it (for log lines about a failure).
    var initiatorNameSoFar: String { machine.initiatorNameSoFar }
    /// The configured target the login named, once found.
    var targetNameSoFar: String? { machine.targetNameSoFar }

    mutating func receive(_ pdu: PDU, authority: LoginAuthority) -> LoginStateMachine.Step {
        if leadingCmdSN == nil {
            leadingCmdSN = pdu.header.cmdSN
            joiningTSIH = pdu.header.tsih
        }
        return machine.receive(pdu, authority: authority)
    }
}
