import Config
import ISCSI

/// A portal the server listens on, and what SendTargets reports for it.
public struct ListeningPortal: Sendable, Equatable {
    /// "0.0.0.0", "::", "127.0.0.1": the address bound.
    public var host: String
    /// 0: the kernel picked one (tests); the bound port is then reported.
    public var port: Int
    /// `advertise`: TargetAddress values ("192.0.2.1:3260", "[2001:db8::1]:3260") reported
    /// instead of the address a connection reached us on. Empty: that local address.
    public var advertised: [String]

    public init(host: String, port: Int, advertised: [String] = []) {
        self.host = host
        self.port = port
        self.advertised = advertised
    }
}

/// What the server needs from the config at run time, in the ISCSITarget module's terms.
public struct ServerRuntimeSettings: Sendable {
    /// `[clients]`: ordered allow/deny rules checked when a connection is accepted.
    public var clientRules: [AccessRule]
    /// CHAP users for discovery sessions ([auth]).
    public var discoveryAuthentication: AuthenticationPolicy
    public var portals: [ListeningPortal]
    /// Sessions and connections the network may hold at once.
    public var limits: SessionLimits
    public var maxSessions: Int {
        get { limits.maxSessions }
        set { limits.maxSessions = newValue }
    }
    public var offer: TargetOffer
    /// Seconds between NOP-In pings on an idle connection; 0 disables them.
    public var nopInterval: Int64
    /// Seconds to wait for a ping's answer before dropping the connection.
    public var nopTimeout: Int64
    /// Seconds a login may take from TCP accept to the full feature phase.
    public var loginTimeout: Int64
    /// Commands a session may have outstanding (the CmdSN window).
    public var commandWindow: UInt32

    public init(clientRules: [AccessRule] = [], discoveryAuthentication: AuthenticationPolicy = .none, portals: [ListeningPortal], maxSessions: Int = 64, offer: TargetOffer = TargetOffer(),
                nopInterval: Int64 = 5, nopTimeout: Int64 = 15, loginTimeout: Int64 = 15, commandWindow: UInt32 = 128) {
        self.clientRules = clientRules
        self.discoveryAuthentication = discoveryAuthentication
        self.portals = portals
        self.limits = SessionLimits(maxSessions: maxSessions)
        self.offer = offer
        self.nopInterval = nopInterval
        self.nopTimeout = nopTimeout
        self.loginTimeout = loginTimeout
        self.commandWindow = commandWindow
    }
}
