/// DHCPv4 messages (RFC 2131/2132) as plain values: the few a client sends (DISCOVER,
/// REQUEST) and the replies it reads (OFFER, ACK, NAK). Pure, so it is tested on bytes;
/// `DHCPClient` does the sending.
public struct DHCPMessage: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case discover = 1, offer = 2, request = 3, decline = 4, ack = 5, nak = 6, release = 7
    }

    public var kind: Kind
    public var transactionID: UInt32
    public var hardwareAddress: [UInt8]
    /// yiaddr: the address offered or granted (host byte order).
    public var yourAddress: UInt32 = 0
    public var serverID: UInt32?
    public var requestedAddress: UInt32?
    public var subnetMask: UInt32?
    public var router: UInt32?
    public var leaseSeconds: UInt32?
    /// Option 58; defaults to half the lease.
    public var renewalSeconds: UInt32?
    public var hostname: String?

    public init(kind: Kind, transactionID: UInt32, hardwareAddress: [UInt8]) {
        self.kind = kind
        self.transactionID = transactionID
        self.hardwareAddress = hardwareAddress
    }

    static let cookie: [UInt8] = [99, 130, 83, 99]
    static let fixedLength = 236

    enum Option: UInt8 {
        case pad = 0, subnetMask = 1, router = 3, hostname = 12, requestedAddress = 50, leaseTime = 51
        case messageType = 53, serverID = 54, parameterList = 55, renewalTime = 58, end = 255
    }

    /// A client's BOOTREQUEST. The broadcast flag asks the server to broadcast its reply:
    /// an interface without an address cannot receive a unicast one.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.fixedLength)
        bytes[0] = 1                                    // BOOTREQUEST
        bytes[1] = 1                                    // Ethernet
        bytes[2] = UInt8(min(hardwareAddress.count, 16))
        put32(&bytes, 4, transactionID)
        bytes[10] = 0x80                                // flags: broadcast
        for (i, b) in hardwareAddress.prefix(16).enumerated() { bytes[28 + i] = b }
        bytes += Self.cookie
        bytes += [Option.messageType.rawValue, 1, kind.rawValue]
        if let requestedAddress { bytes += [Option.requestedAddress.rawValue, 4] + be32(requestedAddress) }
        if let serverID { bytes += [Option.serverID.rawValue, 4] + be32(serverID) }
        if let hostname, !hostname.isEmpty {
            let name = Array(hostname.utf8.prefix(255))
            bytes += [Option.hostname.rawValue, UInt8(name.count)] + name
        }
        bytes += [Option.parameterList.rawValue, 4, Option.subnetMask.rawValue, Option.router.rawValue,
                  Option.leaseTime.rawValue, Option.renewalTime.rawValue]
        bytes.append(Option.end.rawValue)
        if bytes.count < 300 { bytes += [UInt8](repeating: 0, count: 300 - bytes.count) }  // BOOTP minimum
        return bytes
    }

    /// A server's BOOTREPLY; nil for anything else (not a reply, no cookie, no message type,
    /// options running past the end).
    public static func decode(_ bytes: [UInt8]) -> DHCPMessage? {
        guard bytes.count >= fixedLength + 4, bytes[0] == 2, Array(bytes[fixedLength..<(fixedLength + 4)]) == cookie else {
            return nil
        }
        let hlen = min(Int(bytes[2]), 16)
        var kind: Kind?
        var message = DHCPMessage(kind: .offer, transactionID: get32(bytes, 4), hardwareAddress: Array(bytes[28..<(28 + hlen)]))
        message.yourAddress = get32(bytes, 16)
        var i = fixedLength + 4
        while i < bytes.count {
            let code = bytes[i]
            if code == Option.pad.rawValue { i += 1; continue }
            if code == Option.end.rawValue { break }
            guard i + 1 < bytes.count else { return nil }
            let length = Int(bytes[i + 1])
            let start = i + 2
            guard start + length <= bytes.count else { return nil }
            let value = Array(bytes[start..<(start + length)])
            switch Option(rawValue: code) {
            case .messageType? where length == 1: kind = Kind(rawValue: value[0])
            case .subnetMask? where length == 4: message.subnetMask = get32(value, 0)
            case .router? where length >= 4: message.router = get32(value, 0)
            case .serverID? where length == 4: message.serverID = get32(value, 0)
            case .leaseTime? where length == 4: message.leaseSeconds = get32(value, 0)
            case .renewalTime? where length == 4: message.renewalSeconds = get32(value, 0)
            default: break
            }
            i = start + length
        }
        guard let kind else { return nil }
        message.kind = kind
        return message
    }

    private func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    private func put32(_ bytes: inout [UInt8], _ at: Int, _ v: UInt32) { bytes.replaceSubrange(at..<(at + 4), with: be32(v)) }
    private static func get32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        bytes[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// What a DHCP exchange gave: the address to configure and when to ask again.
public struct DHCPLease: Sendable, Equatable {
    public var address: UInt32
    public var netmask: UInt32
    public var router: UInt32?
    public var server: UInt32
    public var leaseSeconds: UInt32
    /// T1: when to renew, seconds from the grant.
    public var renewSeconds: UInt32

    /// From an ACK; a mask missing from it is the classful default's modern stand-in /24.
    public init?(ack: DHCPMessage) {
        guard ack.kind == .ack, ack.yourAddress != 0, let server = ack.serverID else { return nil }
        address = ack.yourAddress
        netmask = ack.subnetMask ?? 0xFFFF_FF00
        router = ack.router
        self.server = server
        leaseSeconds = ack.leaseSeconds ?? 3600
        renewSeconds = ack.renewalSeconds ?? leaseSeconds / 2
    }
}
