import Appliance
import Config
import XCTest

final class OpenRequestTests: XCTestCase {
    func testRoundTrip() throws {
        for request in [OpenRequest(path: "/dev/vdb", createSize: nil),
                        OpenRequest(path: "/var/lib/targe/disk0.img", createSize: 1 << 30),
                        OpenRequest(path: "/tmp/ünïcode dir/x.img", createSize: 0)] {
            XCTAssertEqual(try OpenRequest.decode(request.encoded()), request)
        }
    }

    func testLayout() {
        let bytes = OpenRequest(path: "/a", createSize: 0x0102).encoded()
        XCTAssertEqual(bytes, [1, UInt8(ascii: "O"), 1, 0, 0, 0, 0, 0, 0, 1, 2, UInt8(ascii: "/"), UInt8(ascii: "a")])
    }

    func testStrictDecoding() {
        let good = OpenRequest(path: "/dev/vdb", createSize: nil).encoded()
        func expect(_ bytes: [UInt8], _ error: OpenRequest.DecodeError, line: UInt = #line) {
            XCTAssertThrowsError(try OpenRequest.decode(bytes), line: line) { XCTAssertEqual($0 as? OpenRequest.DecodeError, error, line: line) }
        }
        expect(Array(good.prefix(11)), .tooShort)
        expect([], .tooShort)
        var b = good; b[0] = 2; expect(b, .badVersion)
        b = good; b[1] = UInt8(ascii: "X"); expect(b, .unknownOperation)
        b = good; b[2] = 7; expect(b, .badFlags)
        b = good; b[10] = 1; expect(b, .badFlags)                         // a size without the create flag
        expect(OpenRequest(path: "dev/vdb", createSize: nil).encoded(), .badPath)   // relative
        expect(good + [0], .badPath)                                     // NUL inside
        expect(good + [0xff, 0xfe], .badPath)                            // not UTF-8
        expect(OpenRequest(path: "/" + String(repeating: "a", count: 4096), createSize: nil).encoded(), .badPath)
    }

    func testPolicyAllowsOnlyConfiguredDevicesAndCreation() throws {
        let config = try ConfigParser.parse("""
            [device disk]
            path /dev/vdb
            engine buffered
            [device file]
            path /var/lib/targe/f.img
            offset 1MiB
            size 10MiB
            create yes
            [device ram]
            ram 1MiB
            [target t]
            lun 0 disk
            lun 1 file
            lun 2 ram
            """)
        let policy = OpenPolicy(config: config, stateDirectory: nil)
        XCTAssertNil(policy.refusal(for: OpenRequest(path: "/dev/vdb", createSize: nil)))
        XCTAssertNil(policy.refusal(for: OpenRequest(path: "/var/lib/targe/f.img", createSize: nil)))
        XCTAssertNil(policy.refusal(for: OpenRequest(path: "/var/lib/targe/f.img", createSize: 11 << 20)))
        XCTAssertNotNil(policy.refusal(for: OpenRequest(path: "/var/lib/targe/f.img", createSize: 1 << 30)))
        XCTAssertNotNil(policy.refusal(for: OpenRequest(path: "/dev/vdb", createSize: 4096)), "no create yes for /dev/vdb")
        XCTAssertNotNil(policy.refusal(for: OpenRequest(path: "/etc/shadow", createSize: nil)))
        XCTAssertNotNil(policy.refusal(for: OpenRequest(path: "/dev/vdb/../vdc", createSize: nil)))
    }

    func testBindRequests() {
        for request in [BindRequest(host: "127.0.0.1", port: 860), BindRequest(host: "::", port: 3260),
                        BindRequest(host: "2001:db8::1", port: 1)] {
            XCTAssertEqual(BindRequest.decode(request.encoded()), request)
        }
        XCTAssertEqual(BindRequest(host: "10.0.0.1", port: 0x0102).encoded(),
                       [1, UInt8(ascii: "B"), 1, 2] + Array("10.0.0.1".utf8))
        for bad: [UInt8] in [[1, UInt8(ascii: "B"), 0, 1],                          // no address
                             [2, UInt8(ascii: "B"), 0, 1] + Array("1.2.3.4".utf8),   // version
                             [1, UInt8(ascii: "B"), 0, 1] + Array("/etc/passwd".utf8),
                             [1, UInt8(ascii: "B"), 0, 1] + Array(repeating: UInt8(ascii: "1"), count: 46)] {
            XCTAssertNil(BindRequest.decode(bad), "\(bad)")
        }
    }

    func testThePolicyBindsOnlyTheConfigsPortals() throws {
        let config = try ConfigParser.parse("[server]\nlisten 127.0.0.1:860 [::1]:3260\n[device d]\nram 1MiB\n[target t]\nlun 0 d\n")
        let policy = OpenPolicy(config: config, stateDirectory: nil)
        XCTAssertNil(policy.refusal(for: BindRequest(host: "127.0.0.1", port: 860)))
        XCTAssertNil(policy.refusal(for: BindRequest(host: "::1", port: 3260)))
        XCTAssertNotNil(policy.refusal(for: BindRequest(host: "127.0.0.1", port: 861)))
        XCTAssertNotNil(policy.refusal(for: BindRequest(host: "0.0.0.0", port: 860)))
    }
}
