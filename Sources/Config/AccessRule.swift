public enum AccessAction: String, Sendable {
    case allow
    case deny
}

/// What a client-address rule matches.
public enum AddressMatch: Sendable, Hashable, CustomStringConvertible {
    case all
    case network(CIDR)

    public func matches(_ addressBytes: [UInt8]) -> Bool {
        switch self {
        case .all: true
        case .network(let cidr): cidr.contains(addressBytes)
        }
    }

    public var description: String {
        switch self {
        case .all: "all"
        case .network(let cidr): cidr.description
        }
    }
}

/// One `[clients]` line entry: `allow|deny all|CIDR|address`.
public struct AccessRule: Sendable, Equatable {
    public var action: AccessAction
    public var match: AddressMatch
    public var line: Int

    public init(action: AccessAction, match: AddressMatch, line: Int = 0) {
        self.action = action
        self.match = match
        self.line = line
    }

    /// Rules apply in order and the first match decides; with no match the client is
    /// allowed, so an empty `[clients]` changes nothing (as the example file's comment says).
    public static func admits(_ addressBytes: [UInt8], rules: [AccessRule]) -> Bool {
        for rule in rules where rule.match.matches(addressBytes) {
            return rule.action == .allow
        }
        return true
    }

    /// Ignores line numbers (see `ApplianceSettings.==`).
    public static func == (a: Self, b: Self) -> Bool {
        a.action == b.action && a.match == b.match
    }
}
