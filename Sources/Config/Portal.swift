/// A listen address (the seeds' "allowed server address"): an IP literal and a TCP port.
/// Hosts are numeric because the appliance has no resolver (PLATFORM.md: no NSS when static).
public struct Portal: Sendable, Hashable, CustomStringConvertible {
    /// The IANA iSCSI port, used when a listen entry gives none.
    public static let defaultPort = 3260

    /// Canonical address text without brackets: "0.0.0.0", "::", "fe80::1".
    public var host: String
    /// 0...65535; 0 asks the kernel for any free port (tests bind that way to run in parallel).
    public var port: Int

    public init(host: String, port: Int = Portal.defaultPort) {
        self.host = host
        self.port = port
    }

    /// "0.0.0.0:3260", "10.0.0.1" (port 3260), "[::]:3260", "[fe80::1]", or a bare IPv6 address
    /// without a port ("::1"). IPv6 with a port needs the brackets, or the port would be
    /// indistinguishable from the last group.
    public static func parse(_ text: String) -> Portal? {
        var hostText = Substring(text)
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostText = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
            guard hostText.contains(":") else { return nil }  // brackets are for IPv6 only
        } else if text.filter({ $0 == ":" }).count == 1 {
            let colon = text.firstIndex(of: ":")!
            hostText = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let bytes = IPAddress.parse(String(hostText)) else { return nil }
        var port = defaultPort
        if let portText {
            guard !portText.isEmpty, portText.count <= 5,
                  portText.allSatisfy({ $0 >= "0" && $0 <= "9" }),
                  let value = Int(portText), value <= 65535
            else { return nil }
            port = value
        }
        return Portal(host: IPAddress.format(bytes), port: port)
    }

    public var isIPv6: Bool { host.contains(":") }

    /// 0.0.0.0 or ::: every local address.
    public var isWildcard: Bool { host == "0.0.0.0" || host == "::" }

    /// "0.0.0.0:3260" or "[::]:3260": the form `parse` reads and SendTargets' TargetAddress uses.
    public var description: String {
        isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
