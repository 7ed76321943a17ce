#if canImport(Glibc)
import Glibc
#endif
import CSystemShims

/// A small DHCPv4 client: DISCOVER, OFFER, REQUEST, ACK on one interface, with retries on
/// clock deadlines (timers run slow under emulation; counted sleeps would not). Renewal is
/// the same exchange again at T1, which PID 1 schedules.
public struct DHCPClient: Sendable {
    public let interface: String
    public let hostname: String
    public let sysNet: String

    public init(interface: String, hostname: String, sysNet: String = "/sys/class/net") {
        self.interface = interface
        self.hostname = hostname
        self.sysNet = sysNet
    }

    /// The MAC address from sysfs ("52:54:00:12:34:56").
    public static func parseMAC(_ text: String) -> [UInt8]? {
        let parts = text.trimmed().split(separator: ":")
        guard parts.count == 6 else { return nil }
        let bytes = parts.compactMap { UInt8($0, radix: 16) }
        return bytes.count == 6 ? bytes : nil
    }

    /// Runs the exchange; gives up after `timeout` seconds.
    public func acquire(timeout: Double = 30) throws(InitError) -> DHCPLease {
        guard let mac = SystemFiles.attribute("\(sysNet)/\(interface)/address").flatMap(Self.parseMAC) else {
            throw InitError("DHCP on \(interface)", detail: "cannot read its MAC address")
        }
        let fd = targe_dhcp_socket(interface)
        guard fd >= 0 else { throw InitError("DHCP socket on \(interface)", errno: errno) }
        defer { close(fd) }
        let deadline = MonotonicClock.now() + timeout
        var wait = 2.0
        while MonotonicClock.now() < deadline {
            let xid = UInt32.random(in: 1...UInt32.max)
            var discover = DHCPMessage(kind: .discover, transactionID: xid, hardwareAddress: mac)
            discover.hostname = hostname
            try send(discover, on: fd)
            let roundEnd = min(deadline, MonotonicClock.now() + wait)
            wait = min(wait * 2, 16)
            guard let offer = receive(on: fd, xid: xid, mac: mac, kinds: [.offer], until: roundEnd),
                  let server = offer.serverID else { continue }
            var request = DHCPMessage(kind: .request, transactionID: xid, hardwareAddress: mac)
            request.requestedAddress = offer.yourAddress
            request.serverID = server
            request.hostname = hostname
            try send(request, on: fd)
            guard let reply = receive(on: fd, xid: xid, mac: mac, kinds: [.ack, .nak], until: min(deadline, MonotonicClock.now() + 4)) else {
                continue
            }
            if reply.kind == .nak { continue }
            if let lease = DHCPLease(ack: reply) { return lease }
        }
        throw InitError("DHCP on \(interface)", detail: "no lease within \(Int(timeout)) s")
    }

    private func send(_ message: DHCPMessage, on fd: Int32) throws(InitError) {
        let bytes = message.encoded()
        let sent = bytes.withUnsafeBytes { targe_dhcp_broadcast(fd, $0.baseAddress, $0.count) }
        if sent < 0 { throw InitError("DHCP send on \(interface)", errno: errno) }
    }

    /// The first reply for this exchange (transaction id and MAC match) of one of `kinds`.
    private func receive(on fd: Int32, xid: UInt32, mac: [UInt8], kinds: [DHCPMessage.Kind], until deadline: Double) -> DHCPMessage? {
        var buffer = [UInt8](repeating: 0, count: 1500)
        while true {
            let left = deadline - MonotonicClock.now()
            if left <= 0 { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, Int32(left * 1000) + 1) <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0, let message = DHCPMessage.decode(Array(buffer[0..<n])) else { continue }
            if message.transactionID == xid, message.hardwareAddress == mac, kinds.contains(message.kind) { return message }
        }
    }
}
