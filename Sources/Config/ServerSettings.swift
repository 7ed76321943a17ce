/// `[server]`: who the target is and where it listens.
public struct ServerSettings: Sendable, Equatable {
    /// Used when neither `node-base` nor an `[appliance]` hostname is given.
    public static let defaultNodeBase = "iqn.2026-11.org.targe.storage"
    /// With a hostname and no `node-base`, the node base is this prefix + ":" + hostname, so
    /// two appliances on one network do not share target names.
    public static let hostNodeBasePrefix = "iqn.2026-11.org.targe"
    public static let defaultListen = [Portal(host: "0.0.0.0", port: Portal.defaultPort)]
    public static let defaultMaxSessions = 64
    public static let defaultMaxConnections = 1024
    public static let defaultMaxLoginsPerAddress = 16
    public static let defaultMaxDiscoverySessions = 16

    /// Lowercased `iqn.` name; target IQNs default to "<nodeBase>:<target name>".
    public var nodeBase: String
    /// Never empty after parsing; no duplicates.
    public var listen: [Portal]
    /// `listen ... advertise ADDR`: what SendTargets reports for a portal instead of the
    /// address the connection came in on (NAT, port forwards). Absent: the local address.
    public var advertised: [Portal: [Portal]] = [:]
    /// 1...65535: the TSIH that identifies a session is 16 bits and 0 is reserved.
    public var maxSessions: Int
    /// `max-discovery-sessions`: discovery sessions at once, counted apart from `max-sessions`
    /// so that they can never keep a user out of a normal session.
    public var maxDiscoverySessions: Int = ServerSettings.defaultMaxDiscoverySessions
    /// `max-connections`: TCP connections at once, logged in or not; more are closed at accept.
    public var maxConnections: Int = ServerSettings.defaultMaxConnections
    /// `max-logins-per-address`: connections from one address still logging in; more are
    /// closed at accept, so one host cannot hold the service with connections that never log in.
    public var maxLoginsPerAddress: Int = ServerSettings.defaultMaxLoginsPerAddress
    /// User to drop privileges to: a name or a numeric uid.
    public var user: String?
    /// `sanitize-rate`: the most bytes per second a SANITIZE OVERWRITE writes to one LU, so
    /// that erasing one LU leaves the others on the same disks some bandwidth; nil: unpaced.
    public var sanitizeRate: UInt64?
    /// `metrics ADDR:PORT`: where `/metrics` and `/healthz` are served over HTTP; nil: nowhere.
    public var metrics: Portal?
    /// `gateway-name`: which of its targets' `gateway` lines this instance is (for targets
    /// whose RBD LUs several Targe instances serve); nil: no gateway.
    public var gatewayName: String?
    /// Line of the `[server]` header, 0 when absent.
    public var line: Int
    /// Key -> first line it appears on ("node-base", "listen", "max-sessions", "user").
    public var lines: [String: Int]
    /// Line of each listen entry, so a failed bind can point at it.
    public var portalLines: [Portal: Int]

    public init(nodeBase: String = ServerSettings.defaultNodeBase, listen: [Portal] = ServerSettings.defaultListen,
                maxSessions: Int = ServerSettings.defaultMaxSessions, user: String? = nil,
                sanitizeRate: UInt64? = nil, line: Int = 0, lines: [String: Int] = [:], portalLines: [Portal: Int] = [:]) {
        self.nodeBase = nodeBase
        self.listen = listen
        self.maxSessions = maxSessions
        self.user = user
        self.sanitizeRate = sanitizeRate
        self.line = line
        self.lines = lines
        self.portalLines = portalLines
    }

    /// The listen portals with what each advertises, in the file's order.
    public var listenEntries: [ListenEntry] {
        get { listen.map { ListenEntry(portal: $0, advertised: advertised[$0] ?? []) } }
        set {
            listen = newValue.map(\.portal)
            advertised = Dictionary(newValue.filter { !$0.advertised.isEmpty }.map { ($0.portal, $0.advertised) },
                                    uniquingKeysWith: { first, _ in first })
        }
    }

    /// Ignores line numbers (see `ApplianceSettings.==`).
    public static func == (a: Self, b: Self) -> Bool {
        a.nodeBase == b.nodeBase && a.listen == b.listen && a.advertised == b.advertised
            && a.maxSessions == b.maxSessions && a.user == b.user
            && a.maxConnections == b.maxConnections && a.maxDiscoverySessions == b.maxDiscoverySessions && a.maxLoginsPerAddress == b.maxLoginsPerAddress
            && a.sanitizeRate == b.sanitizeRate && a.metrics == b.metrics && a.gatewayName == b.gatewayName
    }
}
