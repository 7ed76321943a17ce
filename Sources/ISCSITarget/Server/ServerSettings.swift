import Config
import ISCSI

/// What the server needs from the config at run time, in the ISCSITarget module's terms.
public struct ServerRuntimeSettings: Sendable {
    /// `[clients]`: ordered allow/deny rules checked when a connection is accepted.
    public var clientRules: [AccessRule]
    /// CHAP users for discovery sessions ([auth]).
    public var discoveryAuthentication: AuthenticationPolicy
    public var portals: [(host: String, port: Int)]
    public var maxSessions: Int
    public var offer: TargetOffer
    /// Seconds between NOP-In pings on an idle connection; 0 disables them.
    public var nopInterval: Int64
    /// Seconds to wait for a ping's answer before dropping the connection.
    public var nopTimeout: Int64
    /// Seconds a login may take from TCP accept to the full feature phase.
    public var loginTimeout: Int64
    /// Commands a session may have outstanding (the CmdSN window).
    public var commandWindow: UInt32

    public init(clientRules: [AccessRule] = [], discoveryAuthentication: AuthenticationPolicy = .none, portals: [(host: String, port: Int)], maxSessions: Int = 64, offer: TargetOffer = TargetOffer(),
                nopInterval: Int64 = 5, nopTimeout: Int64 = 15, loginTimeout: Int64 = 15, commandWindow: UInt32 = 128) {
        self.clientRules = clientRules
        self.discoveryAuthentication = discoveryAuthentication
        self.portals = portals
        self.maxSessions = maxSessions
        self.offer = offer
        self.nopInterval = nopInterval
        self.nopTimeout = nopTimeout
        self.loginTimeout = loginTimeout
        self.commandWindow = commandWindow
    }
}
