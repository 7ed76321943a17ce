import ISCSINames
import NIOCore

/// What a login needs to know about the targets and sessions outside it. The ISCSITarget module
/// implements it; tests use a table.
public protocol LoginAuthority {
    /// The canonical name and alias of a target, or nil when there is no such target.
    func lookupTarget(named name: String) -> (name: String, alias: String?)?
    /// Decides whether the initiator may use the target (the target's `allow` rules).
    func authorize(initiator: String, target: String) -> LoginStatus
    /// Admits the finished login as a session (new, reinstated, or added connection) and
    /// returns its TSIH, or the status to fail the login with.
    func admit(_ outcome: LoginOutcome) -> Result<UInt16, LoginStatus>
    /// Who must authenticate for this kind of session: the CHAP users of the target (its own,
    /// else the global ones) for a normal session, the global ones for discovery. Asked once
    /// per login, when the first request has named the session type and target (for a normal
    /// session, with the canonical name `lookupTarget` returned).
    func authentication(for sessionType: SessionType) -> AuthenticationPolicy
    /// The target portal group the target is reached through here (TargetPortalGroupTag):
    /// `TargetPortalGroup.tag` unless the target has gateways, whose groups are numbered.
    func portalGroupTag(forTarget name: String) -> UInt16
}

extension LoginAuthority {
    public func portalGroupTag(forTarget name: String) -> UInt16 { TargetPortalGroup.tag }
}

public enum SessionType: Sendable, Equatable {
    case discovery
    case normal(targetName: String)
}

/// Everything a finished login established.
public struct LoginOutcome: Sendable, Equatable {
    public var initiatorName: String
    public var initiatorAlias: String?
    public var isid: UInt64
    public var requestedTSIH: UInt16
    public var connectionID: UInt16
    public var sessionType: SessionType
    public var parameters: OperationalParameters
    /// The CmdSN the first command of the session carries.
    public var initialCmdSN: UInt32
    /// The CHAP user the initiator authenticated as; nil when no authentication was required.
    public var authenticatedUser: String?
}

/// The login phase of one connection (RFC 7143 sections 6 and 8.1): security and
/// operational stages, transit rules, key negotiation. The connection handler feeds it each
/// Login Request and carries out the returned step; it never touches a socket.
public struct LoginStateMachine: Sendable {
    public enum Step: Sendable {
        /// Send this response and wait for the next Login Request.
        case respond(Response)
        /// Send this response; the connection enters the full feature phase.
        case complete(Response, LoginOutcome)
        /// Send this response (a failure status) and close the connection.
        case fail(Response, reason: String)
    }

    public struct Response: Sendable {
        public var transit: Bool
        public var currentStage: UInt8
        public var nextStage: UInt8
        public var isid: UInt64
        public var tsih: UInt16
        public var itt: UInt32
        public var status: LoginStatus
        public var keys: TextParameters
    }

    enum Stage: UInt8 { case security = 0, operational = 1, fullFeature = 3 }

    private let offer: TargetOffer
    private var started = false
    private var stage: Stage = .security
    private var isid: UInt64 = 0
    private var tsih: UInt16 = 0
    private var cid: UInt16 = 0
    private var initialCmdSN: UInt32 = 0
    private var initiatorName = ""
    private var initiatorAlias: String?
    private var sessionType: SessionType = .discovery
    private var negotiator: Negotiator?
    private var authenticator = CHAPAuthenticator(policy: .none)
    private var pendingText: [UInt8] = []
    private var sentPortalGroupTag = false
    private var portalGroupTag = TargetPortalGroup.tag

    public init(offer: TargetOffer) {
        self.offer = offer
    }

    public var negotiatedParameters: OperationalParameters? { negotiator?.parameters }
    /// For log lines about a failed login.
    public var initiatorNameSoFar: String { initiatorName }
    /// The configured target the login named, once found (never the initiator's text): the
    /// label a failed login is counted under.
    public private(set) var targetNameSoFar: String?

    public mutating func receive(_ pdu: PDU, authority: some LoginAuthority) -> Step {
        let h = pdu.header
        guard h.initiatorOpcode == .loginRequest else {
            return failure(h, .invalidDuringLogin, "opcode 0x\(String(h.rawOpcode, radix: 16)) during login")
        }
        if !started {
            started = true
            guard h.versionMin == 0 else {
                return failure(h, .unsupportedVersion, "initiator needs iSCSI version >= \(h.versionMin)")
            }
            isid = h.isid
            tsih = h.tsih
            cid = h.connectionID
            initialCmdSN = h.cmdSN
            guard let first = Stage(rawValue: h.currentStage), first != .fullFeature else {
                return failure(h, .initiatorError, "first login PDU has invalid CSG \(h.currentStage)")
            }
            stage = first
        } else {
            guard h.isid == isid, h.tsih == tsih else {
                return failure(h, .initiatorError, "ISID/TSIH changed during login")
            }
            guard h.currentStage == stage.rawValue else {
                return failure(h, .initiatorError, "CSG \(h.currentStage) but the login is in stage \(stage.rawValue)")
            }
        }

        // A request split across PDUs (C bit): collect, and ask for the rest with an empty answer.
        pdu.data.withUnsafeReadableBytes { pendingText.append(contentsOf: $0) }
        if h.continueFlag {
            guard !h.transit else { return failure(h, .initiatorError, "both T and C bits set") }
            guard pendingText.count <= 65536 else { return failure(h, .initiatorError, "login text too long") }
            return .respond(response(h, transit: false, next: stage.rawValue, keys: TextParameters()))
        }
        let keys: TextParameters
        do {
            keys = try TextParameters.parse(pendingText)
        } catch {
            return failure(h, .initiatorError, "\(error)")
        }
        pendingText.removeAll(keepingCapacity: false)

        if negotiator == nil {
            if let failed = beginSession(h, keys, authority: authority) { return failed }
        }
        var answer = TextParameters()

        if stage == .security {
            switch authenticator.receive(keys) {
            case let .success(security):
                answer.pairs += security.pairs
                // A CHAP user bound to initiator names may not log in as another initiator.
                if let user = authenticator.authenticatedUser,
                   let credential = authenticator.policy.incoming.first(where: { $0.name == user }),
                   !credential.admits(initiatorName: initiatorName) {
                    return failure(h, .authorizationFailure, "CHAP user \"\(UntrustedText.escaped(user, limit: 64))\" "
                                   + "may not log in as \(UntrustedText.escaped(initiatorName, limit: 80))")
                }
            case let .failure(failed):
                return .fail(response(h, transit: false, next: stage.rawValue, keys: failed.keys, status: failed.status),
                             reason: failed.reason)
            }
        } else if let key = keys.pairs.first(where: { $0.key.hasPrefix("CHAP_") })?.key {
            return failure(h, .initiatorError, "\(key) in the operational stage")
        }
        if case .normal = sessionType, !sentPortalGroupTag {
            // RFC 7143 section 13.9: the target reports its portal group in the first response.
            sentPortalGroupTag = true
            answer.append("TargetPortalGroupTag", String(portalGroupTag))
        }
        answer.pairs += negotiator!.negotiate(keys).pairs

        guard h.transit else {
            return .respond(response(h, transit: false, next: stage.rawValue, keys: answer))
        }
        guard let next = Stage(rawValue: h.nextStage), next.rawValue > stage.rawValue else {
            return failure(h, .initiatorError, "invalid transit from stage \(stage.rawValue) to \(h.nextStage)")
        }
        if stage == .security, !authenticator.mayLeaveSecurityStage {
            // Mid-exchange, hold the stage: answer T=0 and go on (RFC 7143 section 11.13.3).
            guard authenticator.isInProgress else {
                return failure(h, .authenticationFailure, "initiator asks to leave the security stage without "
                    + "offering AuthMethod=CHAP; CHAP is required")
            }
            return .respond(response(h, transit: false, next: stage.rawValue, keys: answer))
        }
        if next == .operational {
            stage = .operational
            return .respond(response(h, transit: true, next: next.rawValue, keys: answer))
        }
        // Transit to the full feature phase.
        if let refusal = requiredDigestMissing(negotiator!.parameters) {
            return failure(h, .initiatorError, refusal)
        }
        // A key answered already in this response (e.g. a rejected MaxRecvDataSegmentLength)
        // must not appear twice; the RFC default then stands for that direction.
        for declared in negotiator!.declarations().pairs where answer[declared.key] == nil {
            answer.append(declared.key, declared.value)
        }
        let outcome = LoginOutcome(initiatorName: initiatorName, initiatorAlias: initiatorAlias, isid: isid,
                                   requestedTSIH: tsih, connectionID: cid, sessionType: sessionType,
                                   parameters: negotiator!.parameters, initialCmdSN: initialCmdSN,
                                   authenticatedUser: authenticator.authenticatedUser)
        switch authority.admit(outcome) {
        case let .failure(status):
            return .fail(response(h, transit: false, next: stage.rawValue, keys: TextParameters(), status: status),
                         reason: "session not admitted: \(status)")
        case let .success(assigned):
            tsih = assigned
            let current = stage.rawValue
            stage = .fullFeature
            return .complete(response(h, transit: true, next: 3, keys: answer, currentStage: current), outcome)
        }
    }

    /// Checks the declarations of the first Login Request and sets up negotiation.
    private mutating func beginSession(_ h: BasicHeaderSegment, _ keys: TextParameters, authority: some LoginAuthority) -> Step? {
        guard let name = keys["InitiatorName"], !name.isEmpty else {
            return failure(h, .missingParameter, "no InitiatorName")
        }
        // The name keys the I_T nexus, reservations and ACLs, and goes into logs and status:
        // only a well-formed iqn./eui./naa. name is accepted (RFC 7143 section 4.2.7).
        guard ISCSIName.normalize(name) != nil else {
            return failure(h, .initiatorError, "InitiatorName \"\(UntrustedText.escaped(name, limit: 80))\" is not a valid iSCSI name")
        }
        initiatorName = name
        initiatorAlias = keys["InitiatorAlias"]
        switch keys["SessionType"] ?? "Normal" {
        case "Discovery":
            sessionType = .discovery
        case "Normal":
            guard let wanted = keys["TargetName"], !wanted.isEmpty else {
                return failure(h, .missingParameter, "normal session without TargetName")
            }
            guard let target = authority.lookupTarget(named: wanted) else {
                return failure(h, .targetNotFound, "no target named \(wanted)")
            }
            targetNameSoFar = target.name
            portalGroupTag = authority.portalGroupTag(forTarget: target.name)
            let verdict = authority.authorize(initiator: name, target: target.name)
            guard verdict == .success else {
                return failure(h, verdict, "\(name) may not use \(target.name)")
            }
            sessionType = .normal(targetName: target.name)
        case let other:
            return failure(h, .sessionTypeNotSupported, "SessionType \(other)")
        }
        authenticator = CHAPAuthenticator(policy: authority.authentication(for: sessionType))
        if authenticator.policy.requiresCHAP, stage != .security {
            // RFC 7143 section 6.3: an initiator may start in the operational stage only when
            // the target requires no authentication.
            return failure(h, .authenticationFailure, "initiator skips the security stage; CHAP is required")
        }
        negotiator = Negotiator(offer: offer, isDiscovery: sessionType == .discovery, isLeading: tsih == 0)
        return nil
    }

    /// A target configured with only CRC32C must not run without it, whatever the
    /// initiator proposed or left at the RFC default (None).
    private func requiredDigestMissing(_ p: OperationalParameters) -> String? {
        if !offer.headerDigests.contains(.none) && !p.headerDigest {
            return "this target requires HeaderDigest=CRC32C"
        }
        if !offer.dataDigests.contains(.none) && !p.dataDigest {
            return "this target requires DataDigest=CRC32C"
        }
        return nil
    }

    private func response(_ h: BasicHeaderSegment, transit: Bool, next: UInt8, keys: TextParameters,
                          status: LoginStatus = .success, currentStage: UInt8? = nil) -> Response {
        Response(transit: transit, currentStage: currentStage ?? h.currentStage, nextStage: next, isid: isid,
                 tsih: tsih, itt: h.initiatorTaskTag, status: status, keys: keys)
    }

    private func failure(_ h: BasicHeaderSegment, _ status: LoginStatus, _ reason: String) -> Step {
        .fail(response(h, transit: false, next: 0, keys: TextParameters(), status: status), reason: reason)
    }
}
