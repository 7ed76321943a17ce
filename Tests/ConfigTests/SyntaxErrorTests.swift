import XCTest
import Config

final class SyntaxErrorTests: XCTestCase {
    func testUnknownKeyDescription() {
        let errors = parseErrors("[server]\nfoo 1\n")
        XCTAssertEqual(errors, [ConfigError(file: "targe.conf", line: 2, message: "unknown key 'foo' in [server]")])
        XCTAssertEqual(errors.first?.description, "targe.conf:2: unknown key 'foo' in [server]")
    }

    func testUnknownKeyInNamedSection() {
        assertError(minimalConfig + "[device e]\nram 1MiB\nspeed fast\n", line: 7, "unknown key 'speed' in [device e]")
    }

    func testUnknownSection() {
        assertError("[storage]\nfoo bar\n", line: 1, "unknown section [storage]")
        // Entries under a rejected header are not reported again.
        XCTAssertEqual(parseErrors("[storage]\nfoo bar\n").count, 1)
    }

    func testMalformedHeaders() {
        assertError("[server\n", line: 1, "missing ']'")
        assertError("[]\n", line: 1, "malformed section header")
        assertError("[device]\n", line: 1, "section [device] needs a name")
        assertError("[device a b]\n", line: 1, "section [device] takes one name")
        assertError("[device a/b]\n", line: 1, "bad device name 'a/b'")
        assertError("[server main]\n", line: 1, "section [server] takes no name")
    }

    func testDuplicateSection() {
        assertError("[server]\nmax-sessions 2\n[server]\nmax-sessions 3\n", line: 3, "duplicate section [server] (first at line 1)")
    }

    func testKeyOutsideSection() {
        assertError("listen 0.0.0.0\n[server]\n", line: 1, "key 'listen' outside of any section")
    }

    func testMissingValue() {
        assertError("[server]\nnode-base\n", line: 2, "missing value for 'node-base' in [server]")
        assertError("[server]\nlisten   # nothing\n", line: 2, "missing value for 'listen'")
    }

    func testTooManyValues() {
        assertError("[server]\nmax-sessions 1 2\n", line: 2, "'max-sessions' takes one value, got 2")
    }

    func testBadNumber() {
        assertError("[server]\nmax-sessions lots\n", line: 2, "bad number 'lots' for 'max-sessions'")
        assertError("[server]\nmax-sessions +5\n", line: 2, "bad number '+5'")
    }

    func testBadBoolean() {
        assertError("[connection]\nInitialR2T maybe\n", line: 2, "bad value 'maybe' for 'InitialR2T' (expected yes or no)")
    }

    func testBooleanSpellings() throws {
        for (text, value) in [("YES", true), ("no", false), ("true", true), ("Off", false), ("on", true), ("False", false)] {
            let config = try parseValid("[connection]\nImmediateData \(text)\n")
            XCTAssertEqual(config.connection.immediateData, value, text)
        }
    }

    func testDuplicateSingleValuedKey() {
        assertError("[server]\nmax-sessions 1\nmax-sessions 2\n", line: 3, "duplicate key 'max-sessions' in [server] (first at line 2)")
        assertError("[connection]\nMaxBurstLength 4096\nmaxburstlength 8192\n", line: 3, "duplicate key 'maxburstlength'")
        assertError(minimalConfig + "[device e]\nram 1MiB\nram 2MiB\n", line: 7, "duplicate key 'ram' in [device e]")
    }

    func testKeysAndSectionKindsAreCaseInsensitive() throws {
        let config = try parseValid("[SERVER]\nMAX-Sessions 5\n[Connection]\nmaxrecvdatasegmentlength 8192\nHEADERDIGEST crc32c\n")
        XCTAssertEqual(config.server.maxSessions, 5)
        XCTAssertEqual(config.connection.maxRecvDataSegmentLength, 8192)
        XCTAssertEqual(config.connection.headerDigest, [.crc32c])
        XCTAssertEqual(config.connection.lines["MaxRecvDataSegmentLength"], 4)
    }

    func testCommentsBlankLinesTabsAndCRLF() throws {
        let text = "\u{FEFF}# top\r\n\r\n[server]   # trailing\r\n\tmax-sessions\t7#no space needed\r\n   # indented comment\r\n"
        let config = try parseValid(text)
        XCTAssertEqual(config.server.maxSessions, 7)
        XCTAssertEqual(config.server.lines["max-sessions"], 4)
    }

    func testAllErrorsAreCollectedInLineOrder() {
        let text = """
            [server]
            max-sessions 0
            bogus 1
            [timeouts]
            nop-timeout 0
            [target t]
            lun 0 nowhere
            """
        let errors = parseErrors(text)
        XCTAssertEqual(errors.map(\.line), [2, 3, 5, 7])
        XCTAssertEqual(ConfigErrors(errors).description.split(separator: "\n").count, 4)
    }

    func testEmptyFileIsAllDefaults() throws {
        let config = try parseValid("")
        XCTAssertEqual(config, TargeConfig())
        XCTAssertNil(config.appliance)
        XCTAssertEqual(config.server.listen, [Portal(host: "0.0.0.0", port: 3260)])
        XCTAssertEqual(config.server.nodeBase, "iqn.2026-11.org.targe.storage")
    }

    func testLoadMissingFileIsLineZero() {
        XCTAssertThrowsError(try ConfigParser.load(path: "/nonexistent/targe.conf")) { error in
            let errors = (error as? ConfigErrors)?.errors ?? []
            XCTAssertEqual(errors.count, 1)
            XCTAssertEqual(errors.first?.line, 0)
            XCTAssertEqual(errors.first?.file, "/nonexistent/targe.conf")
            XCTAssertTrue(errors.first?.message.contains("No such file") ?? false, "\(errors)")
            XCTAssertEqual(errors.first?.description.hasPrefix("/nonexistent/targe.conf: cannot open"), true)
        }
    }
}
