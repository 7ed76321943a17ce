/// The whole parsed config: a plain value that says what should be running. Comparing two
/// of them (== ignores line numbers) tells a reload whether anything really changed.
public struct TargeConfig: Sendable, Equatable {
    /// nil when there is no `[appliance]` section (running as an ordinary service).
    public var appliance: ApplianceSettings?
    public var server: ServerSettings
    public var connection: ConnectionSettings
    public var timeouts: TimeoutSettings
    public var auth: AuthSettings
    /// `[clients]` rules in file order; first match wins, no match = allow.
    public var clients: [AccessRule]
    public var devices: [DeviceConfig]
    public var combinations: [CombinationConfig]
    public var targets: [TargetConfig]

    public init(appliance: ApplianceSettings? = nil, server: ServerSettings = ServerSettings(),
                connection: ConnectionSettings = ConnectionSettings(), timeouts: TimeoutSettings = TimeoutSettings(),
                auth: AuthSettings = AuthSettings(), clients: [AccessRule] = [], devices: [DeviceConfig] = [],
                combinations: [CombinationConfig] = [], targets: [TargetConfig] = []) {
        self.appliance = appliance
        self.server = server
        self.connection = connection
        self.timeouts = timeouts
        self.auth = auth
        self.clients = clients
        self.devices = devices
        self.combinations = combinations
        self.targets = targets
    }

    public func device(named name: String) -> DeviceConfig? {
        devices.first { $0.name == name }
    }

    public func combination(named name: String) -> CombinationConfig? {
        combinations.first { $0.name == name }
    }

    public func target(named name: String) -> TargetConfig? {
        targets.first { $0.name == name }
    }

    /// The target an initiator asks for by name (case-insensitive, like all iSCSI names).
    public func target(iqn: String) -> TargetConfig? {
        let wanted = iqn.lowercased()
        return targets.first { $0.iqn == wanted }
    }

    /// CHAP users that apply to a target: its own, else the global ones.
    public func incomingUsers(for target: TargetConfig) -> [CHAPUser] {
        target.incoming.isEmpty ? auth.incoming : target.incoming
    }

    public func outgoingUser(for target: TargetConfig) -> CHAPUser? {
        target.outgoing ?? auth.outgoing
    }
}
