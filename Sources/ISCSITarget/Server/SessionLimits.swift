/// How much of the service the network may hold at once. Normal and discovery sessions are
/// counted apart, so that discovery sessions (which need no target and, without `[auth]`, no
/// secret) can never keep a user out of a normal session.
public struct SessionLimits: Sendable, Equatable {
    /// `max-sessions`: normal sessions; past it a login gets 3/2 (out of resources).
    public var maxSessions = 64
    /// `max-discovery-sessions`: discovery sessions, apart from the normal ones.
    public var maxDiscoverySessions = 16
    /// `max-connections`: TCP connections, logged in or not; more are closed at accept.
    public var maxConnections = 1024
    /// `max-logins-per-address`: connections from one address still logging in.
    public var maxLoginsPerAddress = 16

    public init(maxSessions: Int = 64, maxDiscoverySessions: Int = 16, maxConnections: Int = 1024,
                maxLoginsPerAddress: Int = 16) {
        self.maxSessions = maxSessions
        self.maxDiscoverySessions = maxDiscoverySessions
        self.maxConnections = maxConnections
        self.maxLoginsPerAddress = maxLoginsPerAddress
    }
}
