/// One `lun N DEVICE` line of a target.
public struct LUNMapping: Sendable, Equatable {
    /// 0...16383, the flat/peripheral addressing range of SAM.
    public var lun: Int
    /// A device or combination name.
    public var device: String
    public var line: Int

    public init(lun: Int, device: String, line: Int = 0) {
        self.lun = lun
        self.device = device
        self.line = line
    }

    /// Ignores line numbers (see `ApplianceSettings.==`).
    public static func == (a: Self, b: Self) -> Bool {
        a.lun == b.lun && a.device == b.device
    }
}

/// `target-reset allow|refuse` in `[target NAME]`.
public enum TargetResetPolicy: String, Sendable {
    case allow
    case refuse
}

public enum TargetAccess: String, Sendable {
    case readWrite = "rw"
    case readOnly = "ro"
}

/// One entry of a target's `allow` list.
public enum TargetAllow: Sendable, Hashable, CustomStringConvertible {
    case network(CIDR)
    /// A lowercased iqn./eui./naa. initiator name.
    case initiator(String)

    public var description: String {
        switch self {
        case .network(let cidr): cidr.description
        case .initiator(let name): name
        }
    }

    /// A network, an address, or an initiator name. Anything with a '/' or that reads as an
    /// IP address is a network: a typo in a CIDR must be an error, never an initiator name
    /// that quietly matches nobody. ("all" is the parser's business: it means no entries.)
    public static func parse(_ text: String) -> TargetAllow? {
        if text.contains("/") || IPAddress.parse(text) != nil {
            return CIDR.parse(text).map { .network($0) }
        }
        return ISCSIName.normalize(text).map { .initiator($0) }
    }
}

/// `[target NAME]`: what an initiator logs in to.
public struct TargetConfig: Sendable, Equatable {
    public var name: String
    /// Lowercased; the `iqn` key, or "<node-base>:<lowercased name>".
    public var iqn: String
    public var alias: String?
    /// In file order; numbers and devices are unique.
    public var luns: [LUNMapping]
    public var access: TargetAccess
    /// Empty = everyone (also what `allow all` means). Otherwise see `admits`.
    public var allow: [TargetAllow]
    /// This target's CHAP users; when empty, `[auth]`'s apply.
    public var incoming: [CHAPUser]
    /// This target's mutual-CHAP identity; when nil, `[auth]`'s applies.
    public var outgoing: CHAPUser?
    /// `target-reset`: whether initiators may send TARGET WARM/COLD RESET, which reset every
    /// LU of the target and (cold) close every other session on it.
    public var targetReset: TargetResetPolicy = .allow
    /// `gateway` lines in file order: the Targe instances that serve this target's (RBD) LUs
    /// together, one ALUA port group each; empty: this instance alone.
    public var gateways: [GatewayConfig] = []
    /// Line of the `[target NAME]` header.
    public var line: Int
    /// Key -> first line ("iqn", "alias", "lun", "access", "allow", "incoming", "outgoing").
    public var lines: [String: Int]

    public init(name: String, iqn: String, alias: String? = nil, luns: [LUNMapping] = [],
                access: TargetAccess = .readWrite, allow: [TargetAllow] = [], incoming: [CHAPUser] = [],
                outgoing: CHAPUser? = nil, line: Int = 0, lines: [String: Int] = [:]) {
        self.name = name
        self.iqn = iqn
        self.alias = alias
        self.luns = luns
        self.access = access
        self.allow = allow
        self.incoming = incoming
        self.outgoing = outgoing
        self.line = line
        self.lines = lines
    }

    /// Whether an initiator may see and use this target. Networks say where from, names say
    /// who, and both must pass: a listed name alone does not open the target to the whole
    /// internet, since an initiator name is only a claim. A kind with no entries passes.
    /// `initiatorName` is compared lowercased (iSCSI names are case-insensitive).
    public func admits(initiatorName: String, addressBytes: [UInt8]) -> Bool {
        var networks: [CIDR] = []
        var names: [String] = []
        for entry in allow {
            switch entry {
            case .network(let cidr): networks.append(cidr)
            case .initiator(let name): names.append(name)
            }
        }
        let networkOK = networks.isEmpty || networks.contains { $0.contains(addressBytes) }
        let nameOK = names.isEmpty || names.contains(initiatorName.lowercased())
        return networkOK && nameOK
    }

    /// Ignores line numbers (see `ApplianceSettings.==`).
    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.iqn == b.iqn && a.alias == b.alias && a.luns == b.luns && a.access == b.access
            && a.allow == b.allow && a.incoming == b.incoming && a.outgoing == b.outgoing
            && a.targetReset == b.targetReset && a.gateways == b.gateways
    }
}
