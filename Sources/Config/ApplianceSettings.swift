/// How the appliance gets its network address.
public enum ApplianceAddress: Sendable, Equatable {
    case dhcp
    /// Canonical address text (IPv4 or IPv6) and its prefix length, e.g. 192.168.10.20 and 24.
    case `static`(address: String, prefixLength: Int)
}

extension ApplianceAddress {
    /// "dhcp" (any case), or ADDRESS/PREFIX with a non-zero prefix, kept canonical; the
    /// parser and the console menu both read addresses with this.
    public static func parse(_ text: String) -> ApplianceAddress? {
        if text.lowercased() == "dhcp" { return .dhcp }
        guard text.contains("/"), let cidr = CIDR.parse(text), cidr.prefixLength > 0 else { return nil }
        return .static(address: IPAddress.format(cidr.address), prefixLength: cidr.prefixLength)
    }
}

/// `[appliance]`: the settings PID 1 applies before starting the target. Only meaningful
/// when Targe boots the appliance image; nil in `TargeConfig` when the section is absent.
public struct ApplianceSettings: Sendable, Equatable {
    /// RFC 1123 host name; also the default for the node base (see `ServerSettings`).
    public var hostname: String?
    public var address: ApplianceAddress?
    /// Canonical address text; only with a static address, same family.
    public var gateway: String?
    /// Kernel console name such as ttyS0 (optionally ",115200"), never a path.
    public var console: String?
    /// Line of the `[appliance]` header.
    public var line: Int
    /// Key -> line, for errors raised later (say, when an address cannot be applied).
    public var lines: [String: Int]

    public init(hostname: String? = nil, address: ApplianceAddress? = nil, gateway: String? = nil,
                console: String? = nil, line: Int = 0, lines: [String: Int] = [:]) {
        self.hostname = hostname
        self.address = address
        self.gateway = gateway
        self.console = console
        self.line = line
        self.lines = lines
    }

    /// Line numbers are where a value came from, not what it means: ignoring them lets a
    /// rendered config compare equal to its source and a reload spot real changes only.
    public static func == (a: Self, b: Self) -> Bool {
        a.hostname == b.hostname && a.address == b.address && a.gateway == b.gateway && a.console == b.console
    }
}
