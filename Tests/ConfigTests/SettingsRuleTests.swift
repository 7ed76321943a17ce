import XCTest
import Config

/// [appliance], [server], [connection], [timeouts], [auth], [clients].
final class SettingsRuleTests: XCTestCase {
    func testConnectionRanges() {
        assertError("[connection]\nMaxRecvDataSegmentLength 511\n", line: 2, "'MaxRecvDataSegmentLength' must be between 512 and 16777215, got 511")
        assertError("[connection]\nMaxBurstLength 16777216\n", line: 2, "between 512 and 16777215")
        assertError("[connection]\nFirstBurstLength 100\n", line: 2, "between 512 and 16777215")
        assertError("[connection]\nMaxOutstandingR2T 0\n", line: 2, "between 1 and 65535")
        assertError("[connection]\nMaxConnections 65536\n", line: 2, "between 1 and 65535")
        assertError("[connection]\nDefaultTime2Wait 3601\n", line: 2, "between 0 and 3600")
        assertError("[connection]\nDefaultTime2Retain -1\n", line: 2, "between 0 and 3600, got -1")
        assertError("[connection]\nErrorRecoveryLevel 3\n", line: 2, "between 0 and 2")
        assertError("[connection]\nMaxBurstLength 65536\nFirstBurstLength 131072\n", line: 3,
                    "FirstBurstLength (131072) must not exceed MaxBurstLength (65536)")
        // Against the default MaxBurstLength, the error lands on the line that set FirstBurstLength.
        assertError("[connection]\n\nFirstBurstLength 2097152\n", line: 3, "must not exceed MaxBurstLength (1048576)")
    }

    func testConnectionDefaultsAndAllKeys() throws {
        XCTAssertEqual(try parseValid("").connection, ConnectionSettings())
        let text = """
            [connection]
            DataPDUInOrder No
            DataSequenceInOrder No
            DefaultTime2Wait 0
            DefaultTime2Retain 3600
            ErrorRecoveryLevel 2
            InitialR2T yes
            """
        let c = try parseValid(text).connection
        XCTAssertFalse(c.dataPDUInOrder)
        XCTAssertFalse(c.dataSequenceInOrder)
        XCTAssertEqual(c.defaultTime2Wait, 0)
        XCTAssertEqual(c.defaultTime2Retain, 3600)
        XCTAssertEqual(c.errorRecoveryLevel, 2)
        XCTAssertTrue(c.initialR2T)
        XCTAssertEqual(c.line, 1)
    }

    func testDigests() throws {
        let c = try parseValid("[connection]\nHeaderDigest none , crc32c\nDataDigest CRC32C\n").connection
        XCTAssertEqual(c.headerDigest, [.none, .crc32c])
        XCTAssertEqual(c.dataDigest, [.crc32c])
        assertError("[connection]\nHeaderDigest MD5\n", line: 2, "bad digest 'MD5' for 'HeaderDigest'")
        assertError("[connection]\nDataDigest CRC32C,,None\n", line: 2, "bad digest ''")
        assertError("[connection]\nDataDigest None,none\n", line: 2, "digest None listed twice")
    }

    func testTimeouts() throws {
        let t = try parseValid("[timeouts]\nnop-interval 0\nnop-timeout 1\nlogin-timeout 30\n").timeouts
        XCTAssertEqual(t, TimeoutSettings(nopInterval: 0, nopTimeout: 1, loginTimeout: 30))
        assertError("[timeouts]\nnop-timeout 0\n", line: 2, "'nop-timeout' must be between 1 and 86400, got 0")
        assertError("[timeouts]\nnop-interval -5\n", line: 2, "'nop-interval' must be between 0 and 86400, got -5")
        assertError("[timeouts]\nlogin-timeout 0\n", line: 2, "between 1 and 86400")
        assertError("[timeouts]\nlogin-timeout 1.5\n", line: 2, "bad number '1.5'")
    }

    func testServerListenAndSessions() throws {
        let server = try parseValid("[server]\nlisten 10.0.0.1 [fe80::1]:3261\nlisten 127.0.0.1:0\nmax-sessions 65535\n").server
        XCTAssertEqual(server.listen, [Portal(host: "10.0.0.1", port: 3260), Portal(host: "fe80::1", port: 3261),
                                       Portal(host: "127.0.0.1", port: 0)])
        XCTAssertEqual(server.portalLines[Portal(host: "127.0.0.1", port: 0)], 3)
        XCTAssertEqual(server.maxSessions, 65535)
        assertError("[server]\nmax-sessions 0\n", line: 2, "'max-sessions' must be between 1 and 65535, got 0")
        assertError("[server]\nlisten 0.0.0.0:3260\nlisten 0.0.0.0\n", line: 3, "listen address 0.0.0.0:3260 given twice (first at line 2)")
        assertError("[server]\nlisten fe80::1:3260x\n", line: 2, "bad listen address 'fe80::1:3260x'")
        assertError("[server]\nlisten localhost:3260\n", line: 2, "bad listen address 'localhost:3260'")
        assertError("[server]\nlisten 10.0.0.1:65536\n", line: 2, "bad listen address")
        assertError("[server]\nuser -root\n", line: 2, "bad user '-root'")
        XCTAssertEqual(try parseValid("[server]\nuser 1000\n").server.user, "1000")
    }

    /// `listen ADDR advertise ADDR`: per portal, repeatable, written back as read; what
    /// cannot be reached (a wildcard, port 0) or belongs to no portal is refused at its line.
    func testListenAdvertise() throws {
        let text = "[server]\nlisten 0.0.0.0:3260 advertise 127.0.0.1:3260 ADVERTISE [2001:db8::1]:3260 [::]:3261\n"
            + "listen 10.0.0.1:3262\n"
        let server = try parseValid(text).server
        XCTAssertEqual(server.listen, [Portal(host: "0.0.0.0", port: 3260), Portal(host: "::", port: 3261),
                                       Portal(host: "10.0.0.1", port: 3262)])
        XCTAssertEqual(server.advertised, [Portal(host: "0.0.0.0", port: 3260): [Portal(host: "127.0.0.1", port: 3260),
                                                                                  Portal(host: "2001:db8::1", port: 3260)]])
        let written = ConfigWriter.render(try parseValid(text))
        XCTAssertTrue(written.contains("0.0.0.0:3260 advertise 127.0.0.1:3260 advertise [2001:db8::1]:3260 [::]:3261"), written)
        XCTAssertEqual(try parseValid(written).server, server, "written back as read")
        let cases: [(String, String)] = [
            ("listen advertise 127.0.0.1:3260", "'advertise' follows the listen address it belongs to"),
            ("listen 0.0.0.0:3260 advertise", "'advertise' after 0.0.0.0:3260 needs the address to report"),
            ("listen 0.0.0.0:3260 advertise 0.0.0.0:3260", "0.0.0.0:3260 cannot advertise 0.0.0.0:3260"),
            ("listen 0.0.0.0:3260 advertise 192.0.2.1:0", "cannot advertise 192.0.2.1:0"),
            ("listen 0.0.0.0:3260 advertise nas.example:3260", "bad listen address 'nas.example:3260'"),
        ]
        for (line, message) in cases {
            assertError("[server]\n\(line)\n", line: 2, message)
        }
    }

    /// `[target] target-reset allow|refuse`: allow by default, written back only when refused.
    func testTargetReset() throws {
        let base = "[device d]\nram 1MiB\n[target t]\nlun 0 d\n"
        XCTAssertEqual(try parseValid(base).targets[0].targetReset, .allow)
        let refused = try parseValid(base + "target-reset Refuse\n")
        XCTAssertEqual(refused.targets[0].targetReset, .refuse)
        let written = ConfigWriter.render(refused)
        XCTAssertTrue(written.split(separator: "\n").contains { $0.split(separator: " ") == ["target-reset", "refuse"] }, written)
        XCTAssertEqual(try parseValid(written).targets[0].targetReset, .refuse)
        XCTAssertFalse(ConfigWriter.render(try parseValid(base)).contains("target-reset"))
        assertError(base + "target-reset never\n", line: 5, "bad target-reset 'never' (expected allow or refuse)")
    }

    /// `[server] sanitize-rate`: a size per second, 0 meaning unpaced; the writer keeps it.
    func testSanitizeRate() throws {
        XCTAssertNil(try parseValid("").server.sanitizeRate, "unpaced by default")
        XCTAssertEqual(try parseValid("[server]\nsanitize-rate 64MiB\n").server.sanitizeRate, 64 << 20)
        XCTAssertNil(try parseValid("[server]\nsanitize-rate 0\n").server.sanitizeRate, "0: as fast as the device goes")
        assertError("[server]\nsanitize-rate fast\n", line: 2, "bad size 'fast' for 'sanitize-rate'")
        let config = try parseValid("[server]\nsanitize-rate 6MiB\n")
        XCTAssertEqual(try parseValid(ConfigWriter.render(config)).server.sanitizeRate, 6 << 20, "written back")
    }

    func testClients() throws {
        let rules = try parseValid("[clients]\ndeny 10.0.0.7\nallow 10.0.0.0/8 ::1\nDENY all\n").clients
        XCTAssertEqual(rules.map(\.action), [.deny, .allow, .allow, .deny])
        XCTAssertEqual(rules.map(\.line), [2, 3, 3, 4])
        XCTAssertFalse(AccessRule.admits([10, 0, 0, 7], rules: rules))
        XCTAssertTrue(AccessRule.admits([10, 0, 0, 8], rules: rules))
        XCTAssertTrue(AccessRule.admits(IPAddress.parse("::1")!, rules: rules))
        XCTAssertFalse(AccessRule.admits([192, 168, 0, 1], rules: rules))
        XCTAssertTrue(AccessRule.admits([192, 168, 0, 1], rules: []))  // default allow
        assertError("[clients]\nallow 10.0.0.0/40\n", line: 2, "bad address '10.0.0.0/40' in [clients]")
        assertError("[clients]\npermit all\n", line: 2, "unknown key 'permit' in [clients]")
        assertError("[clients]\nallow\n", line: 2, "missing value for 'allow'")
    }

    func testCHAPUsers() throws {
        assertError("[auth]\nincoming alice\n", line: 2, "'incoming' takes a name and a secret, then optionally")
        assertError("[auth]\nincoming alice a-long-secret-1 extra\n", line: 2, "'extra' is not an iSCSI name")
        assertError("[auth]\noutgoing t target-secret-1\noutgoing u target-secret-2\n", line: 3, "duplicate key 'outgoing' in [auth]")
        assertError("[auth]\nincoming a secret-number-1\nincoming a secret-number-2\n", line: 3, "CHAP user 'a' listed twice in [auth] (first at line 2)")
        assertError(minimalConfig + "incoming bob short\n", line: 5, "CHAP secret for 'bob' is shorter than 12 bytes")
        let config = try parseValid("[auth]\nallow-short-secrets yes\n" + minimalConfig + "incoming bob short\n")
        XCTAssertTrue(config.auth.allowShortSecrets)
        XCTAssertEqual(config.targets[0].incoming, [CHAPUser(name: "bob", secret: "short")])
    }

    func testOutgoingSecretMustDifferFromIncoming() {
        let text = "[auth]\nincoming alice same-secret-123\n" + minimalConfig + "outgoing tgt same-secret-123\n"
        assertError(text, line: 7, "outgoing CHAP secret for 'tgt' is also the incoming secret of 'alice' (line 2)")
    }

    func testAppliance() throws {
        let dhcp = try parseValid("[appliance]\naddress DHCP\nconsole ttyS0,115200\n").appliance
        XCTAssertEqual(dhcp?.address, .dhcp)
        XCTAssertEqual(dhcp?.console, "ttyS0,115200")
        let v6 = try parseValid("[appliance]\naddress 2001:DB8::0:5/64\ngateway 2001:db8::1\n").appliance
        XCTAssertEqual(v6?.address, .static(address: "2001:db8::5", prefixLength: 64))
        XCTAssertEqual(try parseValid("[appliance]\n").appliance, ApplianceSettings())
        assertError("[appliance]\naddress 192.168.10.20\n", line: 2, "bad address '192.168.10.20' (expected dhcp or ADDRESS/PREFIX")
        assertError("[appliance]\naddress dhcp\ngateway 10.0.0.1\n", line: 3, "gateway needs a static address")
        assertError("[appliance]\naddress 10.0.0.2/24\ngateway fe80::1\n", line: 3, "not in the same address family")
        assertError("[appliance]\ngateway 10.0.0.256\n", line: 2, "bad gateway")
        assertError("[appliance]\nhostname -bad-\n", line: 2, "bad hostname '-bad-'")
        assertError("[appliance]\nconsole /dev/ttyS0\n", line: 2, "bad console '/dev/ttyS0'")
    }
}

/// `[server] max-connections` and `max-logins-per-address`.
final class ConnectionLimitSettingsTests: XCTestCase {
    func testParsedWrittenAndChecked() throws {
        let config = try parseValid("[server]\nmax-connections 2000\nmax-logins-per-address 4\nmax-discovery-sessions 3\n"
                                    + minimalConfig)
        XCTAssertEqual(config.server.maxDiscoverySessions, 3)
        XCTAssertEqual(config.server.maxConnections, 2000)
        XCTAssertEqual(config.server.maxLoginsPerAddress, 4)
        XCTAssertEqual(try ConfigParser.parse(ConfigWriter.render(config)), config, "the writer keeps them")
        let defaults = try parseValid(minimalConfig)
        XCTAssertEqual(defaults.server.maxConnections, ServerSettings.defaultMaxConnections)
        XCTAssertFalse(ConfigWriter.render(defaults).contains("max-connections"), "defaults are not written")
        assertError("[server]\nmax-connections 0\n" + minimalConfig, line: 2, "max-connections")
        assertError("[server]\nmax-logins-per-address x\n" + minimalConfig, line: 2, "max-logins-per-address")
        let changed = ConfigDifference(from: defaults, to: config)
        XCTAssertEqual(changed.settingsChanged, ["[server] max-discovery-sessions", "[server] max-connections",
                                                 "[server] max-logins-per-address"])
        assertError("[server]\nmax-discovery-sessions 0\n" + minimalConfig, line: 2, "max-discovery-sessions")
    }
}

/// `[server] metrics ADDR:PORT`.
final class MetricsSettingsTests: XCTestCase {
    func testParsedWrittenAndChecked() throws {
        let config = try parseValid("[server]\nmetrics 127.0.0.1:9420\n" + minimalConfig)
        XCTAssertEqual(config.server.metrics, Portal(host: "127.0.0.1", port: 9420))
        XCTAssertEqual(try ConfigParser.parse(ConfigWriter.render(config)), config, "the writer keeps it")
        XCTAssertEqual(try parseValid("[server]\nmetrics [::1]:9420\n" + minimalConfig).server.metrics,
                       Portal(host: "::1", port: 9420))
        let defaults = try parseValid(minimalConfig)
        XCTAssertNil(defaults.server.metrics, "off unless asked for")
        XCTAssertFalse(ConfigWriter.render(defaults).contains("metrics"))
        for bad in ["127.0.0.1", "::1", "[::1]", "localhost:9420", "127.0.0.1:70000", "127.0.0.1:9420 extra"] {
            assertError("[server]\nmetrics \(bad)\n" + minimalConfig, line: 2, "metrics")
        }
        assertError("[server]\nmetrics 127.0.0.1:3260\nlisten 127.0.0.1:3260\n" + minimalConfig, line: 2,
                    "is also a listen portal")
        let changed = ConfigDifference(from: defaults, to: config)
        XCTAssertEqual(changed.needsRestart, ["[server] metrics"])
        XCTAssertEqual(changed.settingsChanged, [])
    }
}

/// `incoming NAME SECRET [INITIATOR-NAME...]`: a CHAP user bound to the initiator names it may use.
final class CHAPBindingSettingsTests: XCTestCase {
    func testBoundUsersParseNormaliseAndRoundTrip() throws {
        let text = """
            [auth]
            incoming alice alice-secret-12 iqn.2026-12.org.example:Host1 iqn.2026-12.org.example:host2
            incoming bob bob-secret-1234
            """ + "\n" + minimalConfig
        let config = try parseValid(text)
        XCTAssertEqual(config.auth.incoming.map(\.initiators),
                       [["iqn.2026-12.org.example:host1", "iqn.2026-12.org.example:host2"], []])
        XCTAssertEqual(try ConfigParser.parse(ConfigWriter.render(config)), config, "the writer keeps the binding")
        assertError("[auth]\nincoming alice alice-secret-12 not-a-name\n" + minimalConfig, line: 2, "is not an iSCSI name")
        assertError("[auth]\nincoming alice\n" + minimalConfig, line: 2, "takes a name and a secret")
        let unbound = try parseValid("[auth]\nincoming alice alice-secret-12\nincoming bob bob-secret-1234\n" + minimalConfig)
        XCTAssertNotEqual(unbound.auth, config.auth, "a binding is a change a reload sees")
    }
}
