import ISCSI

/// One iSCSI connection's protocol state as a value (RFC 7143 section 6: login, full
/// feature, then closing): what is legal in each phase, the connection's StatSN, and the
/// values negotiated at login. The channel handler feeds it every PDU and carries out the
/// action it returns (send, run a command, close); the state of each phase lives in its own
/// file. Session-wide state (the CmdSN window, the task set) is not here: several connections
/// share it.
struct ConnectionStateMachine {
    enum State {
        case login(LoginState)
        case fullFeature(FullFeatureState)
        /// Nothing more is read; only a pending Login, Logout or Reject still goes out.
        case closing
    }

    /// What the handler does with a PDU that arrived.
    enum Action {
        /// The login machine's answer (a response, a failure to send before closing, or the
        /// end of the login for the handler to bind the session and `enterFullFeature`).
        case loginStep(LoginStateMachine.Step)
        /// A SCSI Command: its task exists from now on; it runs when its CmdSN comes up.
        case command(PDU)
        /// Data-Out for a task of this connection.
        case dataOut(PDU)
        /// A NOP-Out, task management, text or logout request, in CmdSN order (at once when
        /// immediate).
        case request(PDU)
        /// Answer with a Reject of the PDU's header and carry on.
        case reject(RejectReason, why: String)
        /// Drop the connection without an answer.
        case close(why: String)
        /// Nothing to do (the initiator's answer to our NOP-In, or the connection is closing).
        case none
    }

    private(set) var state: State
    /// StatSN of the next status-carrying PDU.
    private(set) var statSN: UInt32

    init(offer: TargetOffer, initialStatSN: UInt32) {
        state = .login(LoginState(offer: offer))
        statSN = initialStatSN
    }

    var isLoggingIn: Bool { if case .login = state { return true } else { return false } }
    var isFullFeature: Bool { if case .fullFeature = state { return true } else { return false } }
    var isClosing: Bool { if case .closing = state { return true } else { return false } }

    /// The negotiated values (the RFC's defaults before the login completes); read on every
    /// R2T and Data-In, so kept apart from the state's payload.
    private(set) var parameters = OperationalParameters()

    /// The full feature phase's values, nil before and after it.
    var session: FullFeatureState? {
        if case let .fullFeature(session) = state { return session }
        return nil
    }

    /// A header has arrived (its PDU may not be whole yet): before login only Login Requests
    /// are legal (RFC 7143 section 6.1), and anything else is not worth buffering.
    func screen(_ header: BasicHeaderSegment) -> Action? {
        guard case .login = state, header.initiatorOpcode != .loginRequest else { return nil }
        return .close(why: "opcode 0x\(String(header.rawOpcode, radix: 16)) before login")
    }

    /// `authority` is asked for only while logging in. After a failed login the state stays
    /// in login (its name and numbers go into the failure's log line and response) until the
    /// handler, having sent the response, calls `close`.
    mutating func receive(_ pdu: PDU, authority: @autoclosure () -> LoginAuthority) -> Action {
        switch state {
        case var .login(login):
            if let refusal = screen(pdu.header) { return refusal }
            let step = login.receive(pdu, authority: authority())
            state = .login(login)
            return .loginStep(step)
        case let .fullFeature(session):
            return session.route(pdu)
        case .closing:
            return .none
        }
    }

    /// The login completed with these values (the session's, for a connection joining one).
    mutating func enterFullFeature(_ session: FullFeatureState, parameters: OperationalParameters) {
        self.parameters = parameters
        state = .fullFeature(session)
    }

    /// The connection is going: nothing more is read or started.
    mutating func close() {
        state = .closing
    }

    /// Takes the StatSN for a status-carrying PDU.
    mutating func takeStatSN() -> UInt32 {
        defer { statSN &+= 1 }
        return statSN
    }

    /// A new target transfer tag (R2T, NOP-In ping, long text answer); never the reserved one.
    mutating func allocateTransferTag() -> UInt32 {
        updateSession { $0.allocateTransferTag() } ?? 1
    }

    /// Runs `body` on the full feature phase's values (no-op in other phases).
    mutating func updateSession<T>(_ body: (inout FullFeatureState) -> T) -> T? {
        guard case var .fullFeature(session) = state else { return nil }
        state = .closing  // never observed: restored below, so the value is not copied
        defer { state = .fullFeature(session) }
        return body(&session)
    }

    /// ExpCmdSN and MaxCmdSN while logging in, before the session's window exists: the
    /// leading Login Request's CmdSN, and `window` commands from it.
    func loginNumbers(window: UInt32) -> (expCmdSN: UInt32, maxCmdSN: UInt32) {
        let exp: UInt32
        if case let .login(login) = state { exp = login.leadingCmdSN ?? 0 } else { exp = 0 }
        return (exp, exp &+ window &- 1)
    }

    /// The leading Login Request's CmdSN, while logging in.
    var leadingCmdSN: UInt32? {
        if case let .login(login) = state { return login.leadingCmdSN }
        return nil
    }

    /// The initiator's name as far as the login has told it (for log lines about a failure).
    var initiatorNameSoFar: String {
        switch state {
        case let .login(login): return login.initiatorNameSoFar
        case let .fullFeature(session): return session.initiatorName
        case .closing: return ""
        }
    }

    /// The configured target the login named, while logging in (a failed login is counted
    /// under it).
    var targetNameSoFar: String? {
        if case let .login(login) = state { return login.targetNameSoFar }
        return nil
    }

    /// The TSIH the leading Login Request names (0: a new session).
    var joiningTSIH: UInt16 {
        if case let .login(login) = state { return login.joiningTSIH }
        return 0
    }
}
