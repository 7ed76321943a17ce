import XCTest
import Config

/// [target] rules and IQNs.
final class TargetRuleTests: XCTestCase {
    func testUnknownLunDevice() {
        assertError("[target t]\nlun 0 nothing\n", line: 2, "unknown device or combination 'nothing' for lun 0 in [target t]")
    }

    func testDuplicateLunNumber() {
        let text = "[device a]\nram 1MiB\n[device b]\nram 1MiB\n[target t]\nlun 3 a\nlun 3 b\n"
        assertError(text, line: 7, "lun 3 defined twice in [target t] (first at line 6)")
    }

    func testLunSyntaxAndRange() {
        assertError(minimalConfig + "lun 16384 d\n", line: 5, "'lun' must be between 0 and 16383, got 16384")
        assertError(minimalConfig + "lun 1\n", line: 5, "'lun' takes a LUN number and a device name, got 1 value")
        assertError(minimalConfig + "lun x d\n", line: 5, "bad number 'x' for 'lun'")
    }

    func testTargetWithoutLun() {
        assertError(minimalConfig + "[target empty]\naccess ro\n", line: 5, "[target empty] has no lun")
    }

    func testDuplicateTargetNames() {
        assertError(minimalConfig + "[device e]\nram 1MiB\n[target t]\nlun 0 e\n", line: 7, "duplicate target 't' (first at line 3)")
    }

    func testDuplicateIQNs() {
        let text = minimalConfig + "[device e]\nram 1MiB\n[target u]\niqn iqn.2026-11.org.targe.storage:T\nlun 0 e\n"
        assertError(text, line: 8, "target 'u' has the same IQN iqn.2026-11.org.targe.storage:t as target 't' (line 3)")
    }

    func testIQNsAreCheckedAndLowercased() throws {
        assertError(minimalConfig + "iqn iqn.2026-13.com.example:x\n", line: 5, "bad IQN 'iqn.2026-13.com.example:x'")
        assertError(minimalConfig + "iqn storage1\n", line: 5, "bad IQN")
        assertError("[server]\nnode-base eui.0123456789abcdef\n", line: 2, "bad node-base")
        let config = try parseValid("[server]\nnode-base IQN.2026-11.Com.Example\n" + minimalConfig.replacingTarget("T1"))
        XCTAssertEqual(config.server.nodeBase, "iqn.2026-11.com.example")
        XCTAssertEqual(config.targets[0].iqn, "iqn.2026-11.com.example:t1")
        let eui = try parseValid(minimalConfig + "iqn EUI.0123456789ABCDEF\n")
        XCTAssertEqual(eui.targets[0].iqn, "eui.0123456789abcdef")
    }

    func testNodeBaseDefaults() throws {
        XCTAssertEqual(try parseValid(minimalConfig).targets[0].iqn, "iqn.2026-11.org.targe.storage:t")
        let withHost = try parseValid("[appliance]\nhostname Storage7\n" + minimalConfig)
        XCTAssertEqual(withHost.server.nodeBase, "iqn.2026-11.org.targe:storage7")
        XCTAssertEqual(withHost.targets[0].iqn, "iqn.2026-11.org.targe:storage7:t")
    }

    /// Fuzz/Regressions/FuzzConfig/long-hostname-derived-node-base: a hostname that is valid
    /// but makes the derived node base longer than an iSCSI name may be was accepted, and the
    /// rendered config (which names the node base) then failed to parse. It is refused at the
    /// hostname line; with `node-base` set the same hostname is fine.
    func testHostnameTooLongForTheDerivedNodeBase() throws {
        let label = String(repeating: "a", count: 60)
        let hostname = [label, label, label, label].joined(separator: ".")   // 243 bytes
        assertError("[appliance]\nhostname \(hostname)\n", line: 2, "is too long for the node base derived from it")
        let explicit = try parseValid("[appliance]\nhostname \(hostname)\n[server]\nnode-base iqn.2026-11.org.example:box\n")
        XCTAssertEqual(explicit.server.nodeBase, "iqn.2026-11.org.example:box")
        XCTAssertNoThrow(try ConfigParser.parse(ConfigWriter.render(explicit)))
    }

    func testAccessAndAlias() throws {
        assertError(minimalConfig + "access rx\n", line: 5, "bad access 'rx' (expected rw or ro)")
        let config = try parseValid(minimalConfig + "access RO\nalias Main   database  server\n")
        XCTAssertEqual(config.targets[0].access, .readOnly)
        XCTAssertEqual(config.targets[0].alias, "Main database server")
    }

    func testAllowEntries() throws {
        let config = try parseValid(minimalConfig + "allow 10.0.0.0/8 fe80::/64 10.1.2.3\nallow EUI.0123456789ABCDEF naa.0123456789abcdef0123456789ABCDEF\n")
        XCTAssertEqual(config.targets[0].allow, [
            .network(CIDR.parse("10.0.0.0/8")!), .network(CIDR.parse("fe80::/64")!), .network(CIDR.parse("10.1.2.3/32")!),
            .initiator("eui.0123456789abcdef"), .initiator("naa.0123456789abcdef0123456789abcdef"),
        ])
        XCTAssertEqual(try parseValid(minimalConfig + "allow all\n").targets[0].allow, [])
    }

    func testAllowNeverReadsABadNetworkAsAnInitiator() {
        assertError(minimalConfig + "allow 192.168.10.0/33\n", line: 5, "bad allow entry '192.168.10.0/33'")
        assertError(minimalConfig + "allow 192.168.10.300\n", line: 5, "bad allow entry '192.168.10.300'")
        assertError(minimalConfig + "allow web1\n", line: 5, "bad allow entry 'web1'")
        assertError(minimalConfig + "allow all\nallow 10.0.0.0/8\n", line: 5, "'allow all' cannot be combined")
    }
}

extension String {
    /// The minimal config with its target renamed.
    func replacingTarget(_ name: String) -> String {
        split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0 == "[target t]" ? "[target \(name)]" : String($0) }
            .joined(separator: "\n")
    }
}
