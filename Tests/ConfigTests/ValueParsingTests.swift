import XCTest
import Config

/// Sizes, addresses, networks, portals, iSCSI names.
final class ValueParsingTests: XCTestCase {
    func testSizes() {
        XCTAssertEqual(parseSize("512"), 512)
        XCTAssertEqual(parseSize("512B"), 512)
        XCTAssertEqual(parseSize("4KB"), 4096)
        XCTAssertEqual(parseSize("4kib"), 4096)
        XCTAssertEqual(parseSize("1MiB"), 1 << 20)
        XCTAssertEqual(parseSize("1mb"), 1 << 20)
        XCTAssertEqual(parseSize("10GiB"), 10 << 30)
        XCTAssertEqual(parseSize("2G"), 2 << 30)
        XCTAssertEqual(parseSize("1TiB"), 1 << 40)
        XCTAssertEqual(parseSize("3TB"), 3 << 40)
        XCTAssertEqual(parseSize("0"), 0)
        for bad in ["", "GiB", "1.5GiB", "-1", "+1", "1 GiB", "1XB", "1GiBs", "99999999999TiB", "18446744073709551616"] {
            XCTAssertNil(parseSize(bad), bad)
        }
        XCTAssertEqual(formatSize(10 << 30), "10GiB")
        XCTAssertEqual(formatSize(1536 << 10), "1536KiB")
        XCTAssertEqual(formatSize(1000), "1000")
        XCTAssertEqual(formatSize(0), "0")
    }

    func testIPv4Text() {
        XCTAssertEqual(IPAddress.parse("192.168.1.2"), [192, 168, 1, 2])
        XCTAssertEqual(IPAddress.parse("0.0.0.0"), [0, 0, 0, 0])
        for bad in ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "a.b.c.d", ""] {
            XCTAssertNil(IPAddress.parse(bad), bad)
        }
        XCTAssertEqual(IPAddress.format([10, 0, 0, 1]), "10.0.0.1")
    }

    func testIPv6Text() {
        XCTAssertEqual(IPAddress.parse("::"), [UInt8](repeating: 0, count: 16))
        XCTAssertEqual(IPAddress.parse("::1"), [UInt8](repeating: 0, count: 15) + [1])
        XCTAssertEqual(IPAddress.parse("fe80::"), [0xfe, 0x80] + [UInt8](repeating: 0, count: 14))
        XCTAssertEqual(IPAddress.parse("2001:db8:0:0:1:0:0:1"), IPAddress.parse("2001:DB8::1:0:0:1"))
        XCTAssertEqual(IPAddress.parse("::ffff:192.168.1.2"), [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 192, 168, 1, 2])
        for bad in [":::", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "12345::", "g::1", ":1::", "1::2:", "fe80::1%eth0",
                    "1:2:3:4:5:6:7::8", "::1.2.3"] {
            XCTAssertNil(IPAddress.parse(bad), bad)
        }
        // RFC 5952 canonical text.
        XCTAssertEqual(IPAddress.format(IPAddress.parse("2001:0DB8:0000:0000:0001:0000:0000:0001")!), "2001:db8::1:0:0:1")
        XCTAssertEqual(IPAddress.format(IPAddress.parse("2001:db8:0:1:1:1:1:1")!), "2001:db8:0:1:1:1:1:1")
        XCTAssertEqual(IPAddress.format(IPAddress.parse("::")!), "::")
        XCTAssertEqual(IPAddress.format(IPAddress.parse("1::")!), "1::")
        XCTAssertEqual(IPAddress.format(IPAddress.parse("::ffff:10.0.0.1")!), "::ffff:10.0.0.1")
    }

    func testCIDRParsing() {
        XCTAssertEqual(CIDR.parse("192.168.10.0/24"), CIDR(address: [192, 168, 10, 0], prefixLength: 24))
        XCTAssertEqual(CIDR.parse("10.0.0.1"), CIDR(address: [10, 0, 0, 1], prefixLength: 32))
        XCTAssertEqual(CIDR.parse("::1")?.prefixLength, 128)
        XCTAssertEqual(CIDR.parse("fe80::/64")?.prefixLength, 64)
        for bad in ["10.0.0.0/33", "fe80::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "/8", "all", "10.0.0.0/ 8"] {
            XCTAssertNil(CIDR.parse(bad), bad)
        }
        XCTAssertEqual(CIDR.parse("10.1.0.0/16")?.description, "10.1.0.0/16")
        XCTAssertEqual(CIDR.parse("10.1.2.3")?.description, "10.1.2.3")
    }

    func testCIDRContainsIPv4() {
        let net = CIDR.parse("192.168.10.0/24")!
        XCTAssertTrue(net.contains([192, 168, 10, 0]))
        XCTAssertTrue(net.contains([192, 168, 10, 255]))
        XCTAssertFalse(net.contains([192, 168, 11, 1]))
        let odd = CIDR.parse("10.0.0.64/27")!  // a prefix that ends mid-byte
        XCTAssertTrue(odd.contains([10, 0, 0, 95]))
        XCTAssertFalse(odd.contains([10, 0, 0, 96]))
        XCTAssertFalse(odd.contains([10, 0, 0, 63]))
        XCTAssertTrue(CIDR.parse("0.0.0.0/0")!.contains([8, 8, 8, 8]))
        XCTAssertTrue(CIDR.parse("10.0.0.1")!.contains([10, 0, 0, 1]))
        XCTAssertFalse(CIDR.parse("10.0.0.1")!.contains([10, 0, 0, 2]))
        // IPv4 clients on a dual-stack socket arrive as ::ffff:a.b.c.d.
        XCTAssertTrue(net.contains(IPAddress.parse("::ffff:192.168.10.9")!))
        XCTAssertFalse(net.contains(IPAddress.parse("::1")!))
        XCTAssertFalse(net.contains([1, 2, 3]))
    }

    func testCIDRContainsIPv6() {
        let net = CIDR.parse("fe80::/64")!
        XCTAssertTrue(net.contains(IPAddress.parse("fe80::1")!))
        XCTAssertTrue(net.contains(IPAddress.parse("fe80::ffff:ffff:ffff:ffff")!))
        XCTAssertFalse(net.contains(IPAddress.parse("fe80:0:0:1::1")!))
        XCTAssertFalse(net.contains([192, 168, 0, 1]))
        let odd = CIDR.parse("2001:db8::/29")!
        XCTAssertTrue(odd.contains(IPAddress.parse("2001:dbf:ffff::1")!))
        XCTAssertFalse(odd.contains(IPAddress.parse("2001:dc0::1")!))
        XCTAssertTrue(CIDR.parse("::1")!.contains(IPAddress.parse("0:0::1")!))
        XCTAssertTrue(CIDR.parse("::ffff:10.0.0.0/104")!.contains([10, 9, 8, 7]))
    }

    func testPortals() {
        XCTAssertEqual(Portal.parse("0.0.0.0:3260"), Portal(host: "0.0.0.0", port: 3260))
        XCTAssertEqual(Portal.parse("[::]:3260"), Portal(host: "::", port: 3260))
        XCTAssertEqual(Portal.parse("127.0.0.1:0"), Portal(host: "127.0.0.1", port: 0))
        XCTAssertEqual(Portal.parse("10.0.0.1"), Portal(host: "10.0.0.1", port: 3260))
        XCTAssertEqual(Portal.parse("[FE80::1]"), Portal(host: "fe80::1", port: 3260))
        XCTAssertEqual(Portal.parse("::1"), Portal(host: "::1", port: 3260))
        for bad in ["", ":3260", "10.0.0.1:", "10.0.0.1:65536", "10.0.0.1:x", "[10.0.0.1]:3260", "[::1", "[::1]3260",
                    "host:3260", "[::1]:"] {
            XCTAssertNil(Portal.parse(bad), bad)
        }
        XCTAssertEqual(Portal(host: "::", port: 3260).description, "[::]:3260")
        XCTAssertEqual(Portal(host: "10.0.0.1", port: 3260).description, "10.0.0.1:3260")
    }

    func testISCSINames() {
        XCTAssertEqual(ISCSIName.normalize("iqn.2026-11.com.example.storage1"), "iqn.2026-11.com.example.storage1")
        XCTAssertEqual(ISCSIName.normalize("IQN.1993-08.org.Debian:01:Web1"), "iqn.1993-08.org.debian:01:web1")
        XCTAssertEqual(ISCSIName.normalize("iqn.1991-05.com.microsoft:win_host.example.com"),
                       "iqn.1991-05.com.microsoft:win_host.example.com")
        XCTAssertEqual(ISCSIName.normalize("eui.02004567A425678D"), "eui.02004567a425678d")
        XCTAssertEqual(ISCSIName.normalize("naa.52004567BA64678D"), "naa.52004567ba64678d")
        XCTAssertEqual(ISCSIName.normalize("naa.62004567BA64678D0123456789ABCDEF"), "naa.62004567ba64678d0123456789abcdef")
        let bad = [
            "iqn.2026-13.com.example", "iqn.2026-00.com.example", "iqn.26-11.com.example", "iqn.2026-11", "iqn.2026-11.",
            "iqn.2026-11.com..example", "iqn.2026-11.com.example:", "iqn.2026-11.com_x.example", "iqn.2026-11.com.example:a b",
            "iqn.2026-11.com.example:a/b", "eui.0123", "eui.0123456789abcdeg", "naa.0123456789abcdef01", "storage1", "",
            "iqn.2026-11.com.example:" + String(repeating: "x", count: 200),
        ]
        for name in bad {
            XCTAssertNil(ISCSIName.normalize(name), name)
        }
        XCTAssertTrue(ISCSIName.isIQN("iqn.2026-11.org.targe"))
        XCTAssertFalse(ISCSIName.isIQN("eui.0123456789abcdef"))
    }
}
