import Config
import XCTest

/// `[server] gateway-name` and `[target] gateway NAME ADDR[:PORT]`: several Targe instances
/// serving one target's RBD LUs.
final class GatewayRuleTests: XCTestCase {
    static func config(server: String = "gateway-name gw2", device: String = "rbd rbd/vm1", gateways: String = """
        gateway gw1 192.168.10.21:3260
        gateway gw2 192.168.10.22
        """) -> String {
        "[server]\n\(server)\n[device vm1]\n\(device)\n[target vm]\nlun 0 vm1\n\(gateways)\n"
    }

    func testParsedInOrderWithDefaultPort() throws {
        let parsed = try parseValid(Self.config())
        XCTAssertEqual(parsed.server.gatewayName, "gw2")
        XCTAssertEqual(parsed.targets[0].gateways.map(\.name), ["gw1", "gw2"])
        XCTAssertEqual(parsed.targets[0].gateways.map(\.portal), [Portal(host: "192.168.10.21", port: 3260),
                                                                  Portal(host: "192.168.10.22", port: 3260)])
        XCTAssertEqual(parsed.targets[0].gateways.map(\.line), [7, 8])
    }

    func testWriterRoundTrip() throws {
        let parsed = try parseValid(Self.config())
        let again = try parseValid(ConfigWriter.render(parsed))
        XCTAssertEqual(again.server.gatewayName, "gw2")
        XCTAssertEqual(again.targets[0].gateways, parsed.targets[0].gateways)
    }

    func testRules() {
        let table: [(text: String, line: Int, fragment: String)] = [
            (Self.config(server: "listen 0.0.0.0"), 7, "has no gateway-name"),
            (Self.config(server: "gateway-name gw3"), 7, "does not list this gateway ('gw3'"),
            (Self.config(server: "gateway-name gw/1"), 2, "bad gateway-name 'gw/1'"),
            (Self.config(device: "ram 1MiB"), 6, "not an RBD image"),
            (Self.config(gateways: "gateway gw1 1.2.3.4\ngateway gw1 1.2.3.5"), 8, "repeats gateway gw1"),
            (Self.config(gateways: "gateway gw1 1.2.3.4\ngateway gw2 1.2.3.4:3260"), 8, "repeats gateway gw1"),
            (Self.config(gateways: "gateway gw2 0.0.0.0:3260"), 7, "bad gateway address '0.0.0.0:3260'"),
            (Self.config(gateways: "gateway gw2 somewhere"), 7, "bad gateway address 'somewhere'"),
            (Self.config(gateways: "gateway gw2"), 7, "gateway name and its ADDR[:PORT]"),
        ]
        for row in table { assertError(row.text, line: row.line, row.fragment) }
    }

    func testChangesNeedARestart() throws {
        let running = try parseValid(Self.config())
        let moved = try parseValid(Self.config(gateways: "gateway gw1 192.168.10.21:3260\ngateway gw2 192.168.10.23"))
        XCTAssertEqual(ConfigDifference(from: running, to: moved).needsRestart, ["[target vm] gateway"])
        let renamed = try parseValid(Self.config(server: "gateway-name gw1"))
        XCTAssertEqual(ConfigDifference(from: running, to: renamed).needsRestart, ["[server] gateway-name"])
    }
}
