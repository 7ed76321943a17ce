import XCTest
@testable import Appliance

final class DHCPMessageTests: XCTestCase {
    private let mac: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]

    func testDiscoverLayout() {
        var discover = DHCPMessage(kind: .discover, transactionID: 0xDEADBEEF, hardwareAddress: mac)
        discover.hostname = "targe"
        let bytes = discover.encoded()
        XCTAssertGreaterThanOrEqual(bytes.count, 300, "BOOTP minimum size")
        XCTAssertEqual(Array(bytes[0..<4]), [1, 1, 6, 0], "BOOTREQUEST, Ethernet, 6-byte address")
        XCTAssertEqual(Array(bytes[4..<8]), [0xDE, 0xAD, 0xBE, 0xEF])
        XCTAssertEqual(bytes[10], 0x80, "broadcast flag: no address yet to receive a unicast reply")
        XCTAssertEqual(Array(bytes[28..<34]), mac)
        XCTAssertEqual(Array(bytes[236..<240]), [99, 130, 83, 99])
        XCTAssertEqual(Array(bytes[240..<243]), [53, 1, 1], "message type DISCOVER first")
        XCTAssertTrue(bytes[243...].starts(with: [12, 5] + Array("targe".utf8)))
    }

    func testRequestCarriesAddressAndServer() {
        var request = DHCPMessage(kind: .request, transactionID: 7, hardwareAddress: mac)
        request.requestedAddress = 0x0A00_020F
        request.serverID = 0x0A00_0202
        let options = Array(request.encoded()[240...])
        XCTAssertTrue(options.starts(with: [53, 1, 3, 50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 2]), "\(options.prefix(16))")
    }

    /// A server's ACK as qemu's user network sends it (options padded, end marker).
    private func ack(kind: UInt8 = 5, xid: UInt32 = 7, extra: [UInt8] = []) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 236)
        bytes[0] = 2; bytes[1] = 1; bytes[2] = 6
        bytes.replaceSubrange(4..<8, with: [UInt8(xid >> 24), UInt8(xid >> 16 & 0xff), UInt8(xid >> 8 & 0xff), UInt8(xid & 0xff)])
        bytes.replaceSubrange(16..<20, with: [10, 0, 2, 15])
        bytes.replaceSubrange(28..<34, with: mac)
        bytes += [99, 130, 83, 99, 53, 1, kind, 0, 54, 4, 10, 0, 2, 2, 1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 2, 2,
                  51, 4, 0, 1, 81, 128] + extra + [255, 0, 0]
        return bytes
    }

    func testAckDecodesToALease() throws {
        let message = try XCTUnwrap(DHCPMessage.decode(ack()))
        XCTAssertEqual(message.kind, .ack)
        XCTAssertEqual(message.transactionID, 7)
        XCTAssertEqual(message.hardwareAddress, mac)
        let lease = try XCTUnwrap(DHCPLease(ack: message))
        XCTAssertEqual(lease.address, 0x0A00_020F)
        XCTAssertEqual(lease.netmask, 0xFFFF_FF00)
        XCTAssertEqual(lease.router, 0x0A00_0202)
        XCTAssertEqual(lease.server, 0x0A00_0202)
        XCTAssertEqual(lease.leaseSeconds, 86400)
        XCTAssertEqual(lease.renewSeconds, 43200, "T1 defaults to half the lease")
        XCTAssertEqual(DHCPLease(ack: try XCTUnwrap(DHCPMessage.decode(ack(extra: [58, 4, 0, 0, 0, 60]))))?.renewSeconds, 60)
    }

    func testGarbageAndNonAcksAreRefused() throws {
        XCTAssertNil(DHCPMessage.decode([UInt8](repeating: 0, count: 300)))
        var noCookie = ack()
        noCookie[236] = 0
        XCTAssertNil(DHCPMessage.decode(noCookie))
        var overrun = ack()
        overrun.removeLast(3)
        overrun += [51, 40, 1]
        XCTAssertNil(DHCPMessage.decode(overrun), "an option running past the end")
        let nak = try XCTUnwrap(DHCPMessage.decode(ack(kind: 6)))
        XCTAssertEqual(nak.kind, .nak)
        XCTAssertNil(DHCPLease(ack: nak))
    }

    func testMACAddressParsing() {
        XCTAssertEqual(DHCPClient.parseMAC("52:54:00:12:34:56\n"), mac)
        XCTAssertNil(DHCPClient.parseMAC("52:54:00:12:34"))
        XCTAssertNil(DHCPClient.parseMAC("zz:54:00:12:34:56"))
    }
}
