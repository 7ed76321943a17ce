/// `[timeouts]`, all in whole seconds.
public struct TimeoutSettings: Sendable, Equatable {
    /// Upper bound for every timeout: anything longer than a day is a typo, and keeping
    /// values small keeps later arithmetic in nanoseconds far from overflow.
    public static let maximum = 86400

    /// Seconds between NOP-In pings on an idle connection; 0 = never ping.
    public var nopInterval: Int
    /// Seconds to wait for the NOP-Out reply before dropping the connection; at least 1.
    public var nopTimeout: Int
    /// Seconds a connection may take to finish login; at least 1, because an endless login
    /// would let idle sockets pin sessions.
    public var loginTimeout: Int
    /// Line of the `[timeouts]` header, 0 when absent.
    public var line: Int
    /// Key -> line ("nop-interval", "nop-timeout", "login-timeout").
    public var lines: [String: Int]

    public init(nopInterval: Int = 5, nopTimeout: Int = 15, loginTimeout: Int = 15,
                line: Int = 0, lines: [String: Int] = [:]) {
        self.nopInterval = nopInterval
        self.nopTimeout = nopTimeout
        self.loginTimeout = loginTimeout
        self.line = line
        self.lines = lines
    }

    /// Ignores line numbers (see `ApplianceSettings.==`).
    public static func == (a: Self, b: Self) -> Bool {
        a.nopInterval == b.nopInterval && a.nopTimeout == b.nopTimeout && a.loginTimeout == b.loginTimeout
    }
}
