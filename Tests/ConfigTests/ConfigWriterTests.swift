import XCTest
import Glibc
import Config

final class ConfigWriterTests: XCTestCase {
    func testExampleRoundTrips() throws {
        let config = try ConfigParser.parse(contractExample)
        let text = ConfigWriter.render(config)
        XCTAssertEqual(try parseValid(text), config)
        XCTAssertEqual(ConfigWriter.render(try parseValid(text)), text)  // rendering is a fixed point
    }

    func testEverythingRoundTrips() throws {
        var config = TargeConfig()
        config.appliance = ApplianceSettings(hostname: "box", address: .static(address: "fd00::2", prefixLength: 64),
                                             gateway: "fd00::1", console: "hvc0")
        config.server = ServerSettings(nodeBase: "iqn.2026-11.net.example:box",
                                       listen: [Portal(host: "::1", port: 0), Portal(host: "10.0.0.1", port: 3260)],
                                       maxSessions: 3, user: "nobody")
        config.connection.maxRecvDataSegmentLength = 8192
        config.connection.initialR2T = true
        config.connection.headerDigest = [.crc32c]
        config.connection.dataDigest = [.none, .crc32c]
        config.connection.dataPDUInOrder = false
        config.connection.errorRecoveryLevel = 1
        config.timeouts = TimeoutSettings(nopInterval: 0, nopTimeout: 3, loginTimeout: 60)
        config.auth = AuthSettings(incoming: [CHAPUser(name: "a", secret: "short"), CHAPUser(name: "b", secret: "b-secret-123")],
                                   outgoing: CHAPUser(name: "box", secret: "box-secret-99"), allowShortSecrets: true)
        config.clients = [AccessRule(action: .deny, match: .network(CIDR.parse("10.0.0.66")!)),
                          AccessRule(action: .allow, match: .network(CIDR.parse("fd00::/8")!)),
                          AccessRule(action: .deny, match: .all)]
        config.devices = [
            DeviceConfig(name: "f", source: .path("/srv/f.img"), offset: 4096, size: 3 * 512, engine: .aio, create: true),
            DeviceConfig(name: "g", source: .path("/srv/f.img"), offset: 1 << 20, blockSize: 4096),
            DeviceConfig(name: "r", source: .ram(bytes: 1 << 30), blockSize: 512),
        ]
        config.combinations = [CombinationConfig(name: "s", raid: .raid0, members: ["f", "g"], chunk: 1 << 16)]
        config.targets = [
            TargetConfig(name: "One", iqn: "iqn.2026-11.net.example:box:one", alias: "first target",
                         luns: [LUNMapping(lun: 7, device: "s"), LUNMapping(lun: 0, device: "r")], access: .readOnly,
                         allow: [.initiator("iqn.2000-01.com.example:x"), .network(CIDR.parse("10.0.0.0/8")!)],
                         incoming: [CHAPUser(name: "c", secret: "c-secret-1234")], outgoing: CHAPUser(name: "o", secret: "o-secret-1234")),
            TargetConfig(name: "two", iqn: "eui.0123456789abcdef"),
        ]
        config.targets[1].luns = []
        // A target needs a LUN; give the second one a device of its own.
        config.devices.append(DeviceConfig(name: "t2", source: .ram(bytes: 1 << 20)))
        config.targets[1].luns = [LUNMapping(lun: 0, device: "t2")]

        let text = ConfigWriter.render(config)
        let parsed = try parseValid(text)
        XCTAssertEqual(parsed, config, text)
        XCTAssertFalse(text.contains("box:one"), "a derived IQN is left out:\n\(text)")
        XCTAssertTrue(text.contains("eui.0123456789abcdef"), "an explicit one is kept:\n\(text)")
    }

    func testEqualityIgnoresLineNumbers() throws {
        let a = try parseValid(minimalConfig)
        let b = try parseValid("\n\n# moved down\n" + minimalConfig)
        XCTAssertNotEqual(a.targets[0].line, b.targets[0].line)
        XCTAssertEqual(a, b)
    }

    func testWriteAtomically() throws {
        var template = Array("/tmp/targe-config-test.XXXXXX".utf8CString)
        let dirPointer = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let dir = String(cString: try XCTUnwrap(dirPointer))
        defer {
            for name in listDirectory(dir) { unlink(dir + "/" + name) }
            rmdir(dir)
        }
        let path = dir + "/targe.conf"
        try ConfigWriter.writeAtomically("old\n", to: path)
        let text = ConfigWriter.render(try ConfigParser.parse(contractExample))
        try ConfigWriter.writeAtomically(text, to: path)

        XCTAssertEqual(listDirectory(dir), ["targe.conf"], "no temporary file may be left behind")
        XCTAssertEqual(try ConfigParser.load(path: path), try ConfigParser.parse(contractExample))
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600, "the file holds CHAP secrets")

        XCTAssertThrowsError(try ConfigWriter.writeAtomically("x", to: dir + "/missing/targe.conf"))
        XCTAssertEqual(listDirectory(dir), ["targe.conf"])
    }

    func testLoadReportsTheLineWithInvalidUTF8() throws {
        var template = Array("/tmp/targe-config-utf8.XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        XCTAssertGreaterThanOrEqual(fd, 0)
        let path = String(decoding: template.dropLast().map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
        defer { unlink(path) }
        let bytes: [UInt8] = Array("[server]\nuser ".utf8) + [0xff, 0xfe] + Array("\n".utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, bytes.count)
        close(fd)
        XCTAssertThrowsError(try ConfigParser.load(path: path)) { error in
            let errors = (error as? ConfigErrors)?.errors ?? []
            XCTAssertEqual(errors.map(\.line), [2])
            XCTAssertEqual(errors.first?.message, "not valid UTF-8 text")
        }
    }

    private func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
