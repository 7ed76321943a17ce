import Config
import DeviceServer
import ISCSI
import Storage

/// A sharing target as it runs: IQN, alias and LUN map.
public final class ExportedTarget: Sendable {
    public let name: String
    public let alias: String?
    public let units: [UInt64: LogicalUnit]
    /// LUN numbers in ascending order, as REPORT LUNS lists them.
    public let lunList: [UInt64]
    /// The target's `allow` entries (empty: everyone).
    public let allow: [TargetAllow]
    /// CHAP users for this target (its own, else [auth]'s); none = no authentication.
    public let authentication: AuthenticationPolicy
    /// Whether initiators may reset the whole target (`target-reset`).
    public let allowsTargetReset: Bool
    /// Its port on this server (portal group tag and relative port).
    public let port: TargetPort
    /// Every gateway that serves it, this one included (empty: this server alone).
    public let gateways: [GatewayPortal]

    public init(name: String, alias: String?, units: [UInt64: LogicalUnit], allow: [TargetAllow] = [],
                authentication: AuthenticationPolicy = .none, allowsTargetReset: Bool = true,
                port: TargetPort = .sole, gateways: [GatewayPortal] = []) {
        self.allowsTargetReset = allowsTargetReset
        self.port = port
        self.gateways = gateways
        self.name = name
        self.alias = alias
        self.units = units
        self.lunList = units.keys.sorted()
        self.allow = allow
        self.authentication = authentication
    }

    /// Whether a session that logged in under `earlier` (the target's CHAP users then) may go
    /// on with this version of the target: its rules admit the initiator and its users still
    /// hold the session's (a reload changed them, or changed them while the login ran).
    func stillAdmits(initiatorName: String, address: [UInt8]?, user: String?, admittedUnder earlier: AuthenticationPolicy) -> Bool {
        admits(initiatorName: initiatorName, address: address)
            && authentication.stillAdmits(user: user, initiatorName: initiatorName, admittedUnder: earlier)
    }

    /// Whether the initiator at `address` may see and use this target (the rule is
    /// `TargetConfig.admits`: listed networks and listed names must both match).
    public func admits(initiatorName: String, address: [UInt8]?) -> Bool {
        guard !allow.isEmpty else { return true }
        guard let address else { return false }
        var probe = TargetConfig(name: name, iqn: name)
        probe.allow = allow
        return probe.admits(initiatorName: initiatorName, addressBytes: address)
    }
}

/// Every target of the running configuration, looked up by IQN (case-insensitive, as
/// RFC 3722 normalizes iSCSI names to lower case).
public final class TargetCatalog: Sendable {
    public let targets: [ExportedTarget]
    private let byName: [String: ExportedTarget]

    public init(targets: [ExportedTarget]) {
        self.targets = targets
        var map: [String: ExportedTarget] = [:]
        for t in targets { map[t.name.lowercased()] = t }
        self.byName = map
    }

    public func target(named name: String) -> ExportedTarget? { byName[name.lowercased()] }

    /// Closes every device (after the server stopped; not from an event loop: mirrors flush
    /// their members and clean their bitmaps on close). Combinations close their members.
    public func closeDevices() {
        for t in targets {
            for u in t.units.values { u.close() }
        }
    }

    /// Every mirror, nested ones included, for resync and status.
    public var mirrors: [RAID1Device] {
        var found: [RAID1Device] = []
        var seen = Set<ObjectIdentifier>()
        var pending: [BlockDevice] = targets.flatMap { $0.units.values.map(\.device) }
        while let device = pending.popLast() {
            guard seen.insert(ObjectIdentifier(device)).inserted else { continue }
            if let mirror = device as? RAID1Device { found.append(mirror) }
            pending += device.components
        }
        return found.sorted { $0.name < $1.name }
    }
}
