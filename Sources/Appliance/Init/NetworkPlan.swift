import Config

/// What the network should look like, worked out from `[appliance]` without touching the
/// system (so it is tested as plain values). `NetworkSetup` carries it out.
public struct NetworkPlan: Sendable, Equatable {
    public enum Address: Sendable, Equatable {
        /// IPv4 address and netmask in host byte order, and the default gateway if any.
        case ipv4(address: UInt32, netmask: UInt32, gateway: UInt32?)
        case dhcp
        /// Nothing to configure (no `address` key) or something this appliance cannot do;
        /// the reason is for the console.
        case none(reason: String)
    }

    public var hostname: String
    public var address: Address
    /// Things worth a console line that do not stop the plan (a gateway off the subnet).
    public var warnings: [String]

    public static let defaultHostname = "targe"

    public init(settings: ApplianceSettings?) {
        hostname = settings?.hostname ?? Self.defaultHostname
        warnings = []
        switch settings?.address {
        case nil:
            address = .none(reason: "no address in [appliance]; only loopback is configured")
        case .dhcp?:
            address = .dhcp
        case let .static(text, prefix)?:
            guard let bytes = IPAddress.parse(text), bytes.count == 4 else {
                address = .none(reason: "static IPv6 address \(text)/\(prefix) is not supported yet; only loopback is configured")
                return
            }
            let host = Self.ipv4(bytes)
            let mask = Self.netmask(prefixLength: prefix)
            var gateway: UInt32?
            if let text = settings?.gateway, let gw = IPAddress.parse(text), gw.count == 4 {
                gateway = Self.ipv4(gw)
                if gateway! & mask != host & mask {
                    warnings.append("gateway \(text) is outside \(Self.format(host & mask))/\(prefix); the route may not work")
                }
            }
            address = .ipv4(address: host, netmask: mask, gateway: gateway)
        }
    }

    /// 24 -> 255.255.255.0 (host byte order); 0 -> 0, 32 -> all ones.
    public static func netmask(prefixLength: Int) -> UInt32 {
        let bits = max(0, min(32, prefixLength))
        return bits == 0 ? 0 : UInt32.max << UInt32(32 - bits)
    }

    public static func ipv4(_ bytes: [UInt8]) -> UInt32 {
        bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    public static func format(_ address: UInt32) -> String {
        "\(address >> 24).\(address >> 16 & 0xff).\(address >> 8 & 0xff).\(address & 0xff)"
    }

    /// A console summary: "10.0.2.15/24 via 10.0.2.2".
    public var summary: String {
        switch address {
        case let .ipv4(host, mask, gateway):
            let prefix = mask.nonzeroBitCount
            return "\(Self.format(host))/\(prefix)" + (gateway.map { " via \(Self.format($0))" } ?? "")
        case .dhcp: return "dhcp"
        case let .none(reason): return reason
        }
    }
}
